"""The shipped Kubernetes manifests (deploy/kubernetes/) are valid for the clusters a room may run on:
each resource passes `kubernetes-validate --strict` (the API's own schemas, bundled with the package,
so no cluster is needed) for Kubernetes 1.31 and 1.33, and the Kustomization that
`kubectl apply -k deploy/kubernetes` reads lists every manifest in the folder."""

from __future__ import annotations

import copy
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.browser_support import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes"
KUSTOMIZATION = KUBERNETES / "kustomization.yaml"
VERSIONS = ["1.31", "1.33"]


def manifests() -> list[Path]:
    return sorted(path for path in KUBERNETES.glob("*.yaml") if path != KUSTOMIZATION)


def resources(path: Path) -> list[dict]:
    return [document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document]


def test_the_folder_holds_the_deployment_its_service_and_its_ingress():
    kinds = {resource["kind"] for path in manifests() for resource in resources(path)}
    assert {"Deployment", "Ingress", "Service"} <= kinds


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", manifests(), ids=lambda path: path.name)
def test_every_manifest_is_valid_for_the_kubernetes_version(path, version):
    for resource in resources(path):
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            problem = getattr(error, "message", str(error))  # jsonschema's one line, without the schema
            pytest.fail(
                f"{path.relative_to(ROOT)}: {resource['kind']} is not valid for Kubernetes {version}: {problem}"
            )


def test_the_check_refuses_a_misspelt_field():
    """Strict validation refuses what Kubernetes would drop with only a warning: a misspelt field."""
    [deployment] = resources(KUBERNETES / "deployment.yaml")
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["replica"] = misspelt["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
        kubernetes_validate.validate(misspelt, VERSIONS[0], strict=True)


def test_the_kustomization_applies_every_manifest_in_the_folder():
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text(encoding="utf-8"))
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == [path.name for path in manifests()]
