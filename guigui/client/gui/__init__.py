"""The ttkbootstrap desktop client: thin views over guigui.client.model."""
