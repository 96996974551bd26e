"""Lists of server addresses: how they are read, checked and tried (no server needed)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from guigui.client.addresses import (
    AddressError,
    AddressRing,
    Flaw,
    ServerAddress,
    format_addresses,
    parse_addresses,
    resolve,
)
from guigui.client.gui.settings_dialog import host_problem
from guigui.client.launcher import main as launcher_main
from guigui.client.presets import PresetError, parse_preset, parse_server
from guigui.client.settings import ClientSettings
from guigui.common.i18n import set_language
from guigui.common.protocol import DEFAULT_PORT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("chat.example.com", [("chat.example.com", DEFAULT_PORT)]),
        ("chat1:7000,chat2:7001", [("chat1", 7000), ("chat2", 7001)]),
        (" chat1 , chat2:7001 ,", [("chat1", 7000), ("chat2", 7001)]),
        ("[2001:db8::1]:7002, 2001:db8::2", [("2001:db8::1", 7002), ("2001:db8::2", 7000)]),
        ("chat1,chat1:7000,chat2", [("chat1", 7000), ("chat2", 7000)]),
    ],
)
def test_an_address_list_is_read_in_order_each_once(
    text: str, expected: list[tuple[str, int]]
) -> None:
    default = DEFAULT_PORT if len(expected) == 1 else 7000
    assert parse_addresses(text, default) == [ServerAddress(h, p) for h, p in expected]


@pytest.mark.parametrize(
    ("text", "entry", "flaw"),
    [
        ("chat1:7000,chat 2:7001", "chat 2:7001", Flaw.HOST),
        ("chat1,chat2:70000", "chat2:70000", Flaw.PORT),
        ("chat1,chat2:port", "chat2:port", Flaw.PORT),
        ("chat1, chat/2", "chat/2", Flaw.HOST),
        ("chat1,[2001:db8::1", "[2001:db8::1", Flaw.IPV6),
        (" , ", "", Flaw.EMPTY),
    ],
)
def test_a_wrong_entry_is_named(text: str, entry: str, flaw: Flaw) -> None:
    with pytest.raises(AddressError) as raised:
        parse_addresses(text)
    assert (raised.value.entry, raised.value.flaw) == (entry, flaw)
    if entry:
        assert repr(entry) in str(raised.value)


def test_an_ipv6_address_is_written_in_brackets() -> None:
    addresses = [ServerAddress("chat1", 7000), ServerAddress("::1", 7001)]
    assert format_addresses(addresses) == "chat1:7000, [::1]:7001"
    assert parse_addresses(format_addresses(addresses)) == addresses


def test_guigui_server_with_several_addresses_gives_them_all_with_their_ports() -> None:
    assert parse_server("chat1:7000,chat2").values == {
        "host": f"chat1:7000, chat2:{DEFAULT_PORT}",
        "port": 7000,
    }
    with pytest.raises(PresetError) as raised:
        parse_server("chat1,chat2:x", "--server")
    assert "'chat2:x'" in str(raised.value) and str(raised.value).startswith("--server=")


def test_a_preset_may_list_the_servers_as_a_json_list_or_a_string() -> None:
    as_list = parse_preset('{"host": ["chat1", "chat2:7001"], "port": 7000}', "f")
    as_text = parse_preset('{"host": "chat1,chat2:7001", "port": 7000}', "f")
    assert as_list.values == as_text.values == {"host": "chat1, chat2:7001", "port": 7000}
    with pytest.raises(PresetError) as raised:
        parse_preset('{"host": ["chat1", "chat 2"]}', "/etc/guigui-chat/client.json")
    assert "'chat 2'" in str(raised.value)


def test_one_address_settings_files_keep_loading(tmp_path: Path) -> None:
    user_file = tmp_path / "client.json"
    user_file.write_text(json.dumps({"format": 2, "host": "chat.example.com", "port": 7000}))
    settings = ClientSettings.load(user_file, presets=[])
    assert settings.addresses() == [ServerAddress("chat.example.com", 7000)]
    assert settings.address_text == "chat.example.com:7000"


def test_a_list_of_servers_is_saved_and_loaded_back(tmp_path: Path) -> None:
    user_file = tmp_path / "client.json"
    settings = ClientSettings.load(user_file, presets=[])
    settings.host, settings.port = "chat1, chat2:7001", 7000
    settings.save(user_file)
    again = ClientSettings.load(user_file, presets=[])
    assert again.addresses() == [ServerAddress("chat1", 7000), ServerAddress("chat2", 7001)]


def test_the_launcher_takes_several_servers_and_names_a_wrong_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GUIGUI_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("GUIGUI_SYSTEM_PRESET", str(tmp_path / "none.json"))
    monkeypatch.delenv("GUIGUI_SERVER", raising=False)
    assert launcher_main(["--server", "chat1:7000,chat2:7001", "--show-settings"]) == 0
    assert 'host = "chat1:7000, chat2:7001"    # command line' in capsys.readouterr().out
    assert launcher_main(["--server", "chat1:7000,chat2:port", "--show-settings"]) == 2
    assert "'chat2:port'" in capsys.readouterr().err


def test_the_settings_dialog_names_the_wrong_entry_in_both_languages() -> None:
    assert host_problem("chat1, chat2:7001") is None
    assert host_problem("chat1, chat2:99999") == "chat2:99999: a port is a number from 1 to 65535."
    set_language("fr")
    try:
        assert host_problem("chat1, chat 2") == (
            "chat 2 : un nom de serveur ne contient ni espace ni barre oblique (chat.example.org)."
        )
        assert host_problem(" ") == "Saisissez le nom ou l'adresse du serveur."
    finally:
        set_language("en")


def fake_dns(records: dict[str, list[str]]) -> Any:
    """A ``getaddrinfo`` that knows the names of ``records`` (each with its IPv4 addresses)."""

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in records:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in records[host]]

    return getaddrinfo


def test_every_dns_record_of_a_name_is_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        socket, "getaddrinfo", fake_dns({"chat": ["10.0.0.1", "10.0.0.2"], "b": ["10.0.0.3"]})
    )
    endpoints = resolve(ServerAddress("chat", 7000))
    assert [endpoint.sockaddr for endpoint in endpoints] == [("10.0.0.1", 7000), ("10.0.0.2", 7000)]
    assert str(endpoints[1]) == "chat:7000 (10.0.0.2)"
    ring = AddressRing([ServerAddress("chat", 7000), ServerAddress("nowhere", 7000)])
    endpoints, unresolved = ring.round()
    assert [endpoint.sockaddr[0] for endpoint in endpoints] == ["10.0.0.1", "10.0.0.2"]
    assert len(unresolved) == 1 and unresolved[0].startswith("nowhere:7000: ")


def test_each_round_starts_after_the_endpoint_last_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        socket, "getaddrinfo", fake_dns({"chat": ["10.0.0.1", "10.0.0.2"], "b": ["10.0.0.3"]})
    )
    ring = AddressRing([ServerAddress("chat", 7000), ServerAddress("b", 7000)])

    def order() -> list[str]:
        return [endpoint.sockaddr[0] for endpoint in ring.round()[0]]

    assert order() == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    ring.used(ring.round()[0][1])  # connected to the name's second record
    assert order() == ["10.0.0.3", "10.0.0.1", "10.0.0.2"]
    ring.used(ring.round()[0][0])  # then to b
    assert order() == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
