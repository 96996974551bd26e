"""What the demo data holds: a small French company, as plain tables.

Everything here is data: the people (``PEOPLE``), who is in which room
(``ROOM_MEMBERS``), the access requests left pending (``PENDING_REQUESTS``),
the sanction (``SANCTION``) and three working days of conversations
(``CONVERSATIONS``). ``guigui.server.demo_data`` turns them into rows. Times
are given as a working day (0, 1, 2: the three working days before the one the
data is loaded on) and an ``HH:MM`` local time; the seconds between the lines
of a conversation are drawn from a seeded generator, so two loads on the same
day give the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "guigui-demo"
"""The password of every demo user: published in docs/DATABASE.md, so never on a real server."""

DEMO_EMAIL_DOMAIN = "entreprise.example"
"""The demo users' email domain (``.example`` is reserved by RFC 2606: no mail goes anywhere)."""

SEED = 14
"""Seed of the generator that spaces the lines of each conversation."""

ADMIN_LOGIN = "admin"
"""The admin login the demo sanction and its audit line are signed with."""


@dataclass(frozen=True, slots=True)
class Person:
    """A demo user: login (initial, then last name, like ``cdupont``), names, department."""

    login: str
    first_name: str
    last_name: str
    department: str

    @property
    def email(self) -> str:
        """``prenom.nom@entreprise.example``, in ASCII."""
        return f"{_ascii(self.first_name)}.{_ascii(self.last_name)}@{DEMO_EMAIL_DOMAIN}"


@dataclass(frozen=True, slots=True)
class Conversation:
    """A few lines exchanged in a room, or between two people (``room`` None, ``between`` set)."""

    day: int
    start: str
    """Local time of the first line, ``HH:MM``."""
    room: str | None
    between: tuple[str, str] | None
    lines: tuple[tuple[str, str], ...]
    """(login, text) in order."""


@dataclass(frozen=True, slots=True)
class DemoSanction:
    """A kick or ban on one demo user, given on ``day`` at ``start`` for ``hours``."""

    kind: str
    login: str
    day: int
    start: str
    hours: int
    reason: str


def _ascii(name: str) -> str:
    table = str.maketrans("àâäçéèêëîïôöùûüÿ", "aaaceeeeiioouuuy")
    return name.lower().translate(table).replace(" ", "-").replace("'", "")


PEOPLE = (
    Person("cdupont", "Claire", "Dupont", "direction"),
    Person("pmoreau", "Philippe", "Moreau", "direction"),
    Person("nlefevre", "Nathalie", "Lefèvre", "comptabilité"),
    Person("jgirard", "Julien", "Girard", "comptabilité"),
    Person("sbernard", "Sophie", "Bernard", "comptabilité"),
    Person("kbenali", "Karim", "Benali", "comptabilité"),
    Person("tlaurent", "Thomas", "Laurent", "informatique"),
    Person("mhaddad", "Mehdi", "Haddad", "informatique"),
    Person("croux", "Camille", "Roux", "informatique"),
    Person("lfontaine", "Lucas", "Fontaine", "informatique"),
    Person("egarnier", "Émilie", "Garnier", "marketing"),
    Person("hchevalier", "Hugo", "Chevalier", "marketing"),
    Person("lmercier", "Léa", "Mercier", "marketing"),
    Person("afaure", "Antoine", "Faure", "marketing"),
    Person("fblanc", "François", "Blanc", "commercial"),
    Person("mrousseau", "Manon", "Rousseau", "commercial"),
    Person("ybelkacem", "Yasmine", "Belkacem", "commercial"),
    Person("imarchand", "Isabelle", "Marchand", "RH"),
    Person("npetit", "Nicolas", "Petit", "RH"),
    Person("glemoine", "Gérard", "Lemoine", "accueil"),
)

_EVERYONE = tuple(person.login for person in PEOPLE)

ROOM_MEMBERS: dict[str, tuple[str, ...]] = {
    # Général is everyone's arrival room: every user is a member from creation.
    "Général": _EVERYONE,
    "Blabla": tuple(login for login in _EVERYONE if login not in ("pmoreau", "glemoine")),
    "Comptabilité": ("cdupont", "pmoreau", "nlefevre", "jgirard", "sbernard", "kbenali"),
    "Informatique": ("cdupont", "tlaurent", "mhaddad", "croux", "lfontaine"),
    "Marketing": ("cdupont", "egarnier", "hchevalier", "lmercier", "afaure", "fblanc", "ybelkacem"),
}
"""Who is a member of which room: the approval rooms go by department, the direction sees all."""

PENDING_REQUESTS = (
    # (login, room, day, time): left for the admin to grant or refuse.
    ("npetit", "Comptabilité", 1, "10:50"),
    ("lmercier", "Informatique", 2, "11:05"),
    ("mrousseau", "Marketing", 2, "14:45"),
)

SANCTION = DemoSanction(
    kind="kick",
    login="afaure",
    day=2,
    start="16:48",
    # Four days: still in force on the day of loading, whatever the weekday (from a
    # Friday afternoon to the next Monday evening is under four days).
    hours=96,
    reason="Annonces répétées dans Blabla malgré les rappels (charte d'utilisation)",
)


def _room(day: int, start: str, room: str, *lines: tuple[str, str]) -> Conversation:
    return Conversation(day, start, room, None, lines)


def _private(
    day: int, start: str, first: str, second: str, *lines: tuple[str, str]
) -> Conversation:
    return Conversation(day, start, None, (first, second), lines)


CONVERSATIONS = (
    # ---- day 0 -------------------------------------------------------------
    _room(0, "08:40", "Général",
        ("imarchand", "Bonjour à tous ! Nous accueillons aujourd'hui Lucas Fontaine, alternant au"
                      " service informatique jusqu'en septembre. Réservez-lui un bon accueil !"),
        ("lfontaine", "Merci pour l'accueil, ravi de vous rejoindre !"),
        ("tlaurent", "Bienvenue Lucas 🙂 On t'attend au bureau 2.14."),
        ("glemoine", "Bonjour, pour info l'ascenseur B est en maintenance ce matin,"
                     " merci de prendre l'escalier ou l'ascenseur A."),
        ("cdupont", "Petit rappel : le séminaire d'entreprise aura lieu jeudi 14 à Annecy."
                    " Merci de confirmer votre présence à @imarchand avant vendredi."),
        ("imarchand", "Le formulaire d'inscription est dans le dossier partagé RH > Séminaire."
                      " Pensez à indiquer vos contraintes alimentaires."),
        ("jgirard", "Merci ! On part tous ensemble en car ?"),
        ("imarchand", "Oui, départ 7h30 devant l'entrée principale, retour vers 19h."),
    ),
    _room(0, "09:20", "Informatique",
        ("tlaurent", "Salut l'équipe. Cette semaine : migration des postes de la compta vers"
                     " Windows 11. @mhaddad tu fais le planning avec @nlefevre ?"),
        ("mhaddad", "Ok, je lui propose mardi et mercredi après-midi, deux postes à la fois."),
        ("croux", "Attention, le logiciel de paie n'est certifié que sur la version 23H2,"
                  " j'ai vérifié la doc de l'éditeur."),
        ("tlaurent", "Bien vu. On reste en 23H2 pour ces postes-là."),
        ("lfontaine", "Je peux préparer les clés USB d'installation si vous voulez."),
        ("tlaurent", "Oui merci Lucas, quatre clés suffiront. Étiquette-les bien."),
    ),
    _room(0, "10:05", "Comptabilité",
        ("nlefevre", "Bonjour, la clôture de mars c'est ce vendredi. Il me manque encore les"
                     " notes de frais du service commercial."),
        ("kbenali", "J'ai relancé @fblanc la semaine dernière, je refais un mail."),
        ("sbernard", "Les rapprochements bancaires sont faits jusqu'au 28. Il reste deux"
                     " écritures non lettrées sur le compte fournisseurs."),
        ("nlefevre", "Merci Sophie. @jgirard tu peux regarder les deux écritures ?"),
        ("jgirard", "Oui, je m'en occupe cet après-midi."),
        ("pmoreau", "Pour info, le commissaire aux comptes passe le 22. Je compte sur vous"
                    " pour que les dossiers soient prêts."),
    ),
    _room(0, "11:10", "Marketing",
        ("egarnier", "Bonjour ! Point sur la campagne de printemps : les visuels sont validés,"
                     " reste le texte de la newsletter."),
        ("lmercier", "Je termine la première version ce matin, je vous l'envoie avant midi."),
        ("hchevalier", "Les stats de la dernière newsletter : 31 % d'ouverture, 4,2 % de clics."
                       " Mieux que la précédente."),
        ("afaure", "Top ! On garde le même créneau d'envoi, mardi 10h ?"),
        ("egarnier", "Oui, mardi 10h. @ybelkacem tu peux nous donner la liste des clients à"
                     " exclure (litiges en cours) ?"),
        ("ybelkacem", "Je vous l'envoie dans la journée."),
    ),
    _room(0, "12:31", "Blabla",
        ("hchevalier", "Quelqu'un pour tester le nouveau thaï en face ?"),
        ("croux", "Moi ! 12h45 en bas ?"),
        ("kbenali", "Je viens aussi"),
        ("mrousseau", "Ça marche, je vous rejoins"),
        ("hchevalier", "Parfait, rendez-vous à 12h45 à l'accueil."),
    ),
    _private(0, "14:10", "cdupont", "pmoreau",
        ("cdupont", "Philippe, tu as pu regarder le budget prévisionnel du second semestre ?"),
        ("pmoreau", "Oui, j'ai une version presque finale. On est un peu au-dessus sur les"
                    " frais de déplacement."),
        ("cdupont", "De combien ?"),
        ("pmoreau", "Environ 8 %. Je te propose qu'on en parle jeudi en comité de direction."),
        ("cdupont", "D'accord, mets-le à l'ordre du jour."),
    ),
    _private(0, "15:20", "croux", "mhaddad",
        ("croux", "Tu as vu le ticket de Gérard ? Son imprimante ne sort que des pages blanches."),
        ("mhaddad", "Oui, c'est la cartouche, je lui en ai commandé une."),
        ("croux", "Ok, je ferme le ticket alors."),
        ("mhaddad", "Laisse-le ouvert jusqu'à la livraison, je le clôturerai."),
    ),
    _room(0, "16:30", "Général",
        ("tlaurent", "Rappel : coupure du réseau ce soir de 20h à 22h pour la mise à jour du"
                     " pare-feu. Pensez à enregistrer vos documents avant de partir."),
        ("npetit", "Merci pour l'info. Le VPN sera coupé aussi ?"),
        ("tlaurent", "Oui, tout l'accès extérieur. Ça revient vers 22h au plus tard."),
    ),
    # ---- day 1 -------------------------------------------------------------
    _room(1, "09:02", "Général",
        ("glemoine", "Bonjour, un colis pour le service marketing est arrivé à l'accueil"
                     " (3 cartons). Quelqu'un peut passer le chercher ?"),
        ("afaure", "J'arrive, ce sont les kakémonos pour le salon !"),
        ("glemoine", "Merci, ils sont derrière le comptoir."),
    ),
    _room(1, "10:15", "Informatique",
        ("mhaddad", "Migration de deux postes compta terminée ce matin. RAS, l'imprimante"
                    " réseau a juste dû être réinstallée."),
        ("tlaurent", "Super. Et le lecteur de cartes pour la banque ?"),
        ("mhaddad", "Testé avec @sbernard, ça fonctionne."),
        ("croux", "J'ai eu une alerte de l'antivirus sur le poste du standard : faux positif"
                  " sur une macro Excel. Je l'ai mise en liste blanche après analyse."),
        ("tlaurent", "Ok, note-le dans le registre des incidents s'il te plaît."),
        ("croux", "C'est fait."),
    ),
    _private(1, "11:00", "npetit", "imarchand",
        ("npetit", "Isabelle, j'ai demandé l'accès au salon Comptabilité pour les questions de"
                   " paie, tu peux appuyer auprès de l'admin ?"),
        ("imarchand", "Oui, je préviens Thomas. En attendant, passe par Nathalie pour les"
                      " variables de paie."),
        ("npetit", "Ok, merci !"),
    ),
    _room(1, "11:30", "Comptabilité",
        ("jgirard", "J'ai trouvé les deux écritures : un avoir saisi en double chez le"
                    " fournisseur Papeterie Martin. Corrigé."),
        ("nlefevre", "Merci Julien !"),
        ("kbenali", "Toujours pas de notes de frais du commercial… @pmoreau tu peux appuyer"
                    " la relance ?"),
        ("pmoreau", "Je vois François cet après-midi, je lui en parle."),
        ("sbernard", "La migration de mon poste s'est bien passée au fait, tout marche."),
    ),
    _room(1, "14:00", "Marketing",
        ("lmercier", "Voici la V1 de la newsletter dans le dossier partagé Marketing > Printemps."
                     " Vos retours avant demain midi s'il vous plaît."),
        ("egarnier", "Merci Léa, c'est très bien. Je raccourcirais l'intro, et le bouton"
                     " « Découvrir » doit être plus visible."),
        ("fblanc", "Côté commercial, on aimerait mettre en avant l'offre de reprise, c'est ce"
                   " qui marche le mieux en ce moment."),
        ("lmercier", "Ok, je fais une V2 avec un encart sur l'offre de reprise."),
        ("hchevalier", "Je prépare les liens trackés pour chaque bloc."),
    ),
    _room(1, "15:45", "Blabla",
        ("kbenali", "Il reste des crêpes à la cafétéria, c'est l'anniversaire de Sophie ! 🎂"),
        ("lfontaine", "Joyeux anniversaire !"),
        ("fblanc", "Bon anniversaire Sophie !"),
        ("ybelkacem", "J'arrive, gardez-m'en une !"),
        ("sbernard", "Merci à tous pour les mots gentils 😊"),
    ),
    _private(1, "16:20", "egarnier", "lmercier",
        ("egarnier", "Léa, tu aurais un moment demain pour qu'on prépare la présentation"
                     " du salon ?"),
        ("lmercier", "Oui, 10h ça te va ?"),
        ("egarnier", "Parfait, salle Mont-Blanc."),
    ),
    # ---- day 2 -------------------------------------------------------------
    _room(2, "08:55", "Général",
        ("cdupont", "Bonjour à tous. Bonne nouvelle : nous avons remporté l'appel d'offres de la"
                    " Région. Bravo à l'équipe commerciale et à @egarnier pour le dossier !"),
        ("egarnier", "Merci ! C'était un vrai travail d'équipe avec @fblanc."),
        ("fblanc", "Merci à tous, et au service compta pour les chiffrages en urgence."),
        ("nlefevre", "Avec plaisir 🙂"),
        ("imarchand", "Dernier rappel pour le séminaire : inscriptions jusqu'à vendredi."),
    ),
    _room(2, "09:40", "Informatique",
        ("lfontaine", "Les quatre clés USB sont prêtes et étiquetées, elles sont dans le tiroir"
                      " du bureau 2.14."),
        ("tlaurent", "Merci Lucas."),
        ("mhaddad", "Les sauvegardes de la nuit sont OK, test de restauration fait sur le"
                    " serveur de fichiers."),
        ("croux", "Je lance la mise à jour du serveur de messagerie ce midi, dix minutes"
                  " de coupure."),
        ("tlaurent", "Ok, préviens dans Général avant."),
    ),
    _private(2, "10:00", "kbenali", "fblanc",
        ("kbenali", "Bonjour François, je suis toujours en attente de tes notes de frais de"
                    " février et mars."),
        ("fblanc", "Désolé Karim, je les scanne ce matin et je te les envoie."),
        ("kbenali", "Merci, j'en ai besoin avant midi pour la clôture."),
        ("fblanc", "C'est parti, tu les as dans ta boîte."),
    ),
    _room(2, "10:30", "Marketing",
        ("lmercier", "V2 de la newsletter en ligne, avec l'encart sur l'offre de reprise."),
        ("egarnier", "Validée pour moi 👍"),
        ("hchevalier", "Liens trackés intégrés. On programme l'envoi pour mardi 10h."),
        ("afaure", "Et les kakémonos sont montés dans la salle de démo pour vérifier les"
                   " couleurs, passez voir !"),
        ("ybelkacem", "Voilà la liste d'exclusion : 12 clients, dans le dossier partagé."),
        ("egarnier", "Merci Yasmine."),
    ),
    _private(2, "11:15", "tlaurent", "cdupont",
        ("tlaurent", "Claire, Léa du marketing demande l'accès au salon Informatique pour le"
                     " projet de site web. Tu es d'accord ?"),
        ("cdupont", "Oui sur le principe, mais attends la réunion de lundi avec @egarnier,"
                    " qu'on voie le périmètre."),
        ("tlaurent", "Ok, je laisse la demande en attente d'ici là."),
    ),
    _room(2, "12:05", "Général",
        ("croux", "Petite coupure de la messagerie entre 12h30 et 12h40 pour mise à jour."
                  " Merci de votre compréhension."),
    ),
    _room(2, "14:20", "Comptabilité",
        ("nlefevre", "La clôture avance bien, merci à tous. Il ne reste que la TVA à déclarer."),
        ("sbernard", "Je m'en charge demain matin."),
        ("kbenali", "J'ai enfin reçu les notes de frais de @fblanc, tout est saisi."),
        ("pmoreau", "Bravo. Je valide le dossier pour le commissaire aux comptes lundi."),
        ("cdupont", "Merci pour le travail de ce mois-ci, je sais que la période était chargée."),
    ),
    _private(2, "14:50", "mrousseau", "egarnier",
        ("mrousseau", "Bonjour Émilie, j'ai demandé l'accès au salon Marketing pour suivre la"
                      " campagne de printemps."),
        ("egarnier", "Bonne idée, je valide avec l'admin dès que possible."),
        ("mrousseau", "Merci !"),
    ),
    _room(2, "16:30", "Blabla",
        ("afaure", "VENTE DE GÂTEAUX pour mon club de foot ce samedi !!! Commandez en MP !!!"),
        ("afaure", "VENTE DE GÂTEAUX !!! Derniers jours pour commander !!!"),
        ("afaure", "VENTE DE GÂTEAUX !!! Tarte au citron, flan, brownies !!!"),
        ("hchevalier", "Antoine, on a compris 😅"),
        ("afaure", "VENTE DE GÂTEAUX !!! N'oubliez pas !!!"),
        ("jgirard", "Il y a une charte pour les annonces : un message suffit…"),
    ),
    _private(2, "17:10", "croux", "hchevalier",
        ("croux", "On retourne au thaï vendredi ?"),
        ("hchevalier", "Carrément, je réserve pour quatre."),
    ),
)  # fmt: skip
"""Three working days of conversations, in the order they happened on each day."""
