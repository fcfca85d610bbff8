"""Stands in for the controllers the seed installs with Helm before it applies the platform:
what their charts leave in the cluster, written to the Kubernetes stand-in.

- the AWS Load Balancer Controller: the IngressClass `alb` (controller `ingress.k8s.aws/alb`),
  which the stand-in's load balancer controller serves by giving Ingresses an ALB DNS name;
- the Spark operator: its namespace and controller service account, which Spark pools grant
  the rights to run SparkApplications.

The Prometheus operator's kinds (ServiceMonitor, PrometheusRule) are served by the stand-in
from the start. Usage: controllers.py HTTP_URL TOKEN
"""

import json
import sys
import urllib.request

OBJECTS = [
    ("/apis/networking.k8s.io/v1/ingressclasses/alb",
     {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
      "metadata": {"name": "alb", "labels": {"app.kubernetes.io/name": "aws-load-balancer-controller"}},
      "spec": {"controller": "ingress.k8s.aws/alb"}}),
    ("/api/v1/namespaces/spark-operator",
     {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "spark-operator"}}),
    ("/api/v1/namespaces/spark-operator/serviceaccounts/spark-operator-controller",
     {"apiVersion": "v1", "kind": "ServiceAccount",
      "metadata": {"name": "spark-operator-controller", "namespace": "spark-operator",
                   "labels": {"app.kubernetes.io/name": "spark-operator"}}}),
]


def install(url: str, token: str, context=None) -> None:
    """Writes the controllers' objects to the stand-in at `url` (TLS with `context`, if given)."""
    for path, obj in OBJECTS:
        req = urllib.request.Request(
            f"{url}{path}?fieldManager=helm&force=true",
            data=json.dumps(obj).encode(),
            method="PATCH",
            headers={"Authorization": f"Bearer {token}",
                     "Content-Type": "application/apply-patch+yaml"},
        )
        with urllib.request.urlopen(req, timeout=10, context=context) as r:
            r.read()


def main() -> None:
    install(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    main()
