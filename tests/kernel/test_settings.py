from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from identity.settings import Settings as IdentitySettings
from kernel import topology
from kernel.regime import Regime
from services.fines.settings import Settings as FinesSettings
from superapp_gateway.settings import Settings as GatewaySettings
from tests.fixtures.narrowing import present


def test_defaults_place_a_service_on_its_regimes_loopback_port_with_a_sqlite_file_in_its_data_dir(monkeypatch):
    settings = FinesSettings(regime=Regime.PLATFORM)
    assert settings.port == 8104
    assert settings.data_dir == Path("var/platform/fines")
    assert settings.database_url == "sqlite:///var/platform/fines/fines.db"
    assert settings.keys_dir == Path("var/platform/fines/keys")
    assert settings.identity_url == "http://127.0.0.1:8101"
    assert FinesSettings(regime=Regime.RIGHTS).port == 8204


def test_each_service_reads_only_its_own_prefix(monkeypatch):
    monkeypatch.setenv("CITYGATE_FINES_DATABASE_URL", "postgresql+psycopg://postgres@db/fines")
    monkeypatch.setenv("CITYGATE_FINES_REGIME", "platform")
    monkeypatch.setenv("CITYGATE_GATEWAY_PORT", "9999")
    fines, gateway = FinesSettings(), GatewaySettings()
    assert fines.database_url == "postgresql+psycopg://postgres@db/fines"
    assert fines.regime is Regime.PLATFORM and fines.port == 8104
    assert gateway.port == 9999 and gateway.regime is Regime.RIGHTS
    assert present(gateway.database_url).startswith("sqlite:///")


def test_peers_come_from_the_access_policy_and_can_be_overridden_per_peer(monkeypatch):
    assert GatewaySettings(regime=Regime.RIGHTS).peers == {
        "fines": "http://127.0.0.1:8204",
        "appointments": "http://127.0.0.1:8205",
        "prescriptions": "http://127.0.0.1:8206",
        "consent": "http://127.0.0.1:8202",
    }
    monkeypatch.setenv("CITYGATE_GATEWAY_PEERS__FINES", "http://fines.internal:8000/")
    assert GatewaySettings().peers["fines"] == "http://fines.internal:8000"


def test_peers_include_trusted_signers_and_only_services_of_the_regime():
    # fines checks the wallet's signatures (gateway) and reports to credit, which only the platform has;
    # it records its legal bases with the consent service and reads pods under consent, both of which
    # only the rights regime has
    assert set(FinesSettings(regime=Regime.PLATFORM).peers) == {"gateway", "credit"}
    assert set(FinesSettings(regime=Regime.RIGHTS).peers) == {"gateway", "consent", "pod"}


def test_the_identity_service_registers_every_service_of_its_regime_as_a_client():
    clients = IdentitySettings(regime=Regime.PLATFORM).clients
    assert set(clients) == {spec.name for spec in topology.services_in(Regime.PLATFORM)} - {"identity"}
    assert "pod" not in clients and "credit" in clients
    assert clients["gateway"] == "http://127.0.0.1:8100/.well-known/jwks.json"


def test_an_unknown_regime_is_refused(monkeypatch):
    monkeypatch.setenv("CITYGATE_FINES_REGIME", "feudal")
    with pytest.raises(ValidationError):
        FinesSettings()


def test_the_service_environment_round_trips_through_settings(monkeypatch):
    env = topology.service_environment(
        topology.service("gateway"),
        Regime.PLATFORM,
        lambda name: f"http://platform-{name}:80",
        listen_port=8000,
        demo=True,
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = GatewaySettings()
    assert (settings.regime, settings.port, settings.demo) == (Regime.PLATFORM, 8000, True)
    assert settings.public_url == "http://platform-gateway:80"
    assert settings.identity_url == "http://platform-identity:80"
    assert settings.peers == {name: f"http://platform-{name}:80" for name in ("fines", "appointments", "prescriptions")}


def test_settings_are_built_per_call_not_at_import():
    import kernel.settings
    import services.fines.app

    module_values = [*vars(services.fines.app).values(), *vars(kernel.settings).values()]
    assert not any(isinstance(value, FinesSettings | GatewaySettings) for value in module_values)


def test_a_wildcard_listen_address_never_becomes_the_public_url():
    settings = FinesSettings(host="0.0.0.0", port=9000)
    assert settings.public_url == "http://127.0.0.1:9000"
