"""deploy/k8s renders for every overlay, validates offline, and keeps its promises."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from contracts import natsperms

K8S = Path(__file__).resolve().parents[1] / "k8s"
SERVICES = ("auth", "brokerage", "marketdata", "execution", "backtest", "notify", "gateway")
# metric names the services expose (svckit/metrics.py, gateway/metrics.py), the NATS
# exporter's, Prometheus' own, and brokerage's (brokerage/metrics.py)
KNOWN_METRICS = {
    "svc_requests_total", "svc_request_duration_seconds_bucket", "svc_messages_total",
    "svc_message_duration_seconds_bucket", "svc_consumer_pending", "svc_outbox_pending",
    "gateway_http_requests_total", "gateway_http_request_duration_seconds_bucket",
    "gateway_ws_clients", "gateway_ws_events_total", "gateway_ws_slow_closes_total",
    "jetstream_consumer_num_pending", "jetstream_stream_last_seq", "up",
    "brokerage_orders_total", "brokerage_accounts",
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    """Run validate.sh once (render + schema validation) and load what it rendered."""
    out = tmp_path_factory.mktemp("k8s")
    proc = subprocess.run(["bash", str(K8S / "validate.sh"), str(out)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {p.stem: [d for d in yaml.safe_load_all(p.read_text()) if d]
            for p in out.glob("*.yaml")}


def _by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_every_overlay_renders_and_validates(rendered: dict[str, list[dict]]) -> None:
    assert set(rendered) == {"dev", "prod"}


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_services_run_restricted_with_probes_and_migrations(
        rendered: dict[str, list[dict]], overlay: str) -> None:
    deployments = _by_kind(rendered[overlay], "Deployment")
    for name in SERVICES:
        pod = deployments[name]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for c in pod["containers"] + pod.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] and sc["capabilities"]["drop"] == ["ALL"]
            assert c["resources"]["requests"] and c["resources"]["limits"]
        main = pod["containers"][0]
        assert main["command"] == ["python", "-m", name]
        assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
        init = [c["command"] for c in pod.get("initContainers", [])]
        assert init == ([] if name == "gateway" else [["python", "-m", name, "migrate"]])


def test_prod_runs_three_nats_nodes_and_three_stream_replicas(
        rendered: dict[str, list[dict]]) -> None:
    docs = rendered["prod"]
    assert _by_kind(docs, "StatefulSet")["nats"]["spec"]["replicas"] == 3
    configs = _by_kind(docs, "ConfigMap")
    for name in SERVICES:
        data = next(v["data"] for k, v in configs.items() if k.startswith(f"{name}-config"))
        assert data[f"{name.upper()}_STREAM_REPLICAS"] == "3"
        assert data[f"{name.upper()}_ENVIRONMENT"] == "prod"
    assert not _by_kind(docs, "Secret"), "prod must not render secrets"
    assert not {"postgres", "redis", "dhansim"} & set(_by_kind(docs, "StatefulSet"))


def test_prod_execution_pods_are_guaranteed_a_whole_cpu(rendered: dict[str, list[dict]]) -> None:
    # Guaranteed QoS with an integer CPU: the static CPU manager gives the engine its own core
    spec = _by_kind(rendered["prod"], "Deployment")["execution"]["spec"]["template"]["spec"]
    for c in spec["initContainers"] + spec["containers"]:
        res = c["resources"]
        assert res["requests"] == res["limits"], c["name"]
        assert str(res["limits"]["cpu"]).isdigit(), c["name"]


def test_prod_has_the_components(rendered: dict[str, list[dict]]) -> None:
    docs = rendered["prod"]
    assert set(_by_kind(docs, "HorizontalPodAutoscaler")) == {"gateway", "backtest", "execution"}
    assert "default-deny" in _by_kind(docs, "NetworkPolicy")
    assert {"gateway", "nats"} <= set(_by_kind(docs, "PodDisruptionBudget"))
    assert _by_kind(docs, "Ingress")["gateway"]["spec"]["rules"]
    deny = _by_kind(docs, "NetworkPolicy")["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}


def test_dev_runs_backing_services_and_the_simulator(rendered: dict[str, list[dict]]) -> None:
    docs = rendered["dev"]
    assert {"postgres", "redis", "nats"} <= set(_by_kind(docs, "StatefulSet"))
    assert "dhansim" in _by_kind(docs, "Deployment")
    assert "default-deny" in _by_kind(docs, "NetworkPolicy")


def test_dev_nats_users_are_generated_from_the_contracts(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.mkdir()
    for name in SERVICES:
        (pw / name).write_text(f"{name}-dev-nats")
    admin = tmp_path / "admin"
    admin.write_text("admin-dev-nats")
    expected = natsperms.render_config(natsperms.NatsAuthConfig(
        {n: f"{n}-dev-nats" for n in SERVICES}, [], "admin-dev-nats"))
    committed = (K8S / "overlays" / "dev" / "nats-auth.conf").read_text()
    assert committed == expected, (
        "regenerate: python -m contracts.natsperms render --passwords-dir <dir> "
        "--admin-password-file <file> > deploy/k8s/overlays/dev/nats-auth.conf")


def test_alerts_and_dashboard_use_known_metrics(rendered: dict[str, list[dict]]) -> None:
    rule = _by_kind(rendered["prod"], "PrometheusRule")["algotrade"]
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"MarketFeedStale", "OrderRejectionSpike", "ConsumerLag",
            "BrokerReauthRequired"} <= set(alerts)
    exprs = [r["expr"] for r in alerts.values()]
    dashboard = json.loads(next(
        d for d in _by_kind(rendered["prod"], "ConfigMap").values()
        if "dashboard.json" in d.get("data", {}))["data"]["dashboard.json"])
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    functions = {"sum", "rate", "max", "by", "histogram_quantile", "clamp_min", "increase",
                 "delta", "hour", "minute", "day_of_week", "and", "or", "on", "le"}
    for expr in exprs:
        bare = re.sub(r'"[^"]*"', '""', expr)  # label values are not metric names
        bare = re.sub(r"\b(by|on)\s*\([^)]*\)", "", bare)  # nor grouping labels
        for name in re.findall(r"\b([a-z_][a-z0-9_]*)\s*(?:\{|\[|$|\))", bare):
            assert name in KNOWN_METRICS | functions, (name, expr)


@pytest.mark.parametrize("conf", ["base/nats/nats.conf", "overlays/dev/nats-dev.conf"])
def test_nats_configuration_is_accepted_by_nats_server(tmp_path: Path, conf: str) -> None:
    from svckit.infra.binaries import nats_server_bin

    (tmp_path / "auth").mkdir()
    (tmp_path / "auth" / "auth.conf").write_text(
        (K8S / "overlays" / "dev" / "nats-auth.conf").read_text())
    (tmp_path / "nats.conf").write_text((K8S / conf).read_text())
    proc = subprocess.run([str(nats_server_bin()), "-c", "nats.conf", "-t"], cwd=tmp_path,
                          env={"POD_NAME": "nats-0"}, capture_output=True, text=True,
                          timeout=30, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
