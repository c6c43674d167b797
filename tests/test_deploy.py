"""The deployment examples are valid: Kubernetes manifests against the Kubernetes API schemas (the
kubernetes-validate package ships them, so this runs offline), docker-compose.yml against our conventions.

Nothing is deployed: this checks what `kubectl apply -f deploy/k8s/` would be given.
"""

from pathlib import Path

import pytest
import yaml

from aidcase.celery import QUEUES

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"


def _documents():
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield path.name, doc


def _by_kind(kind):
    return {d["metadata"]["name"]: d for _, d in _documents() if d["kind"] == kind}


def test_every_manifest_is_valid_for_kubernetes():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    documents = list(_documents())
    assert len(documents) >= 10
    for name, doc in documents:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: {error}")


def test_the_validator_refuses_a_broken_manifest():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    web = _by_kind("Deployment")["aidcase-web"]
    broken = {**web, "spec": {**web["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_web_workers_and_beat_are_laid_out_for_several_machines():
    deployments = _by_kind("Deployment")
    autoscalers = {h["spec"]["scaleTargetRef"]["name"] for h in _by_kind("HorizontalPodAutoscaler").values()}
    web = deployments["aidcase-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["resources"]["requests"]["cpu"]
    assert "aidcase-web" in autoscalers
    for queue in QUEUES:
        worker = deployments[f"aidcase-worker-{queue}"]["spec"]["template"]["spec"]["containers"][0]
        command = worker["command"]
        assert command[command.index("-Q") + 1] == queue
        assert "--concurrency" in command and "--time-limit" in command
        assert worker["resources"]["requests"]["cpu"]
        assert f"aidcase-worker-{queue}" in autoscalers
    beat = deployments["aidcase-beat"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate"
    assert "aidcase-beat" not in autoscalers


def test_compose_has_the_replica_and_a_worker_per_queue():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for queue in QUEUES:
        command = services[f"worker-{queue}"]["command"]
        assert command[command.index("-Q") + 1] == queue
    assert "db-replica" in services
    assert "DATABASE_REPLICA_URL" in compose["x-app"]["environment"]
