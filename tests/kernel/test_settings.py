from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from identity.settings import Settings as IdentitySettings
from kernel import topology
from kernel.regime import Regime
from services.fines.settings import Settings as FinesSettings
from superapp_gateway.settings import Settings as GatewaySettings
from tests.fixtures.narrowing import present

REPOSITORY = Path(__file__).resolve().parents[2]


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


def test_the_token_issuers_clients_come_from_the_deployment_that_places_it(monkeypatch):
    # compose: services call each other by service name, a citizen's browser comes back on loopback
    env = topology.service_environment(
        topology.service("identity"),
        Regime.RIGHTS,
        lambda name: f"http://rights-{name}:80",
        listen_port=8000,
        demo=True,
        browser_url_of=lambda name: topology.loopback_url(name, Regime.RIGHTS),
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = IdentitySettings()
    others = {spec.name for spec in topology.services_in(Regime.RIGHTS)} - {"identity"}
    assert settings.clients == {name: f"http://rights-{name}:80/.well-known/jwks.json" for name in others}
    assert settings.redirect_uris == {
        name: [f"{topology.loopback_url(name, Regime.RIGHTS)}/auth/callback"]
        for name in ("gateway", "fines", "appointments", "prescriptions")
    }


def test_the_kernel_knows_the_token_issuer_by_its_role_not_its_name():
    for regime in Regime:
        issuer = topology.token_issuer(regime)
        assert issuer.issues_tokens and issuer.name == "identity"
        assert FinesSettings(regime=regime).identity_url == topology.loopback_url(issuer.name, regime)
    relying_parties = {spec.name for spec in topology.SERVICES if spec.relying_party}
    assert relying_parties == {"gateway", "fines", "appointments", "prescriptions"}


def test_the_kernels_settings_and_topology_import_no_service_package():
    probe = (
        "import sys, kernel.settings, kernel.topology; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'identity', 'consent', 'pod', 'superapp_gateway', "
        "'services', 'workshop'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPOSITORY)
    assert result.stdout.strip() == "[]"


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
