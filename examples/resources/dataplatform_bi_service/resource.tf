# Metabase as the seed deploys it with Helm: an internal image, MySQL on RDS, and an
# internal ALB shared by the analytics services. No chart, no values file.
variable "metabase_db_password" {
  type      = string
  sensitive = true
}

# The node group the BI services run on: its placement (node selector and tolerations)
# is known at plan time.
resource "dataplatform_nodegroup" "infra" {
  cluster_name  = "analytics"
  name          = "infra"
  purpose       = "infra"
  node_role_arn = "arn:aws:iam::123456789012:role/analytics-nodes"
  subnet_ids    = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
  scaling_config {
    min_size = 1
    max_size = 7
  }
}

resource "dataplatform_bi_service" "metabase" {
  cluster_name     = "analytics"
  name             = "metabase"
  namespace        = "metabase"
  create_namespace = true
  engine           = "metabase"

  image {
    repository = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/analytics/metabase"
    tag        = "v0.50.36"
  }

  # Run on the infra node group, away from the Spark nodes.
  placement = dataplatform_nodegroup.infra.placement

  # Athena and S3 access for Metabase's pods: an EKS Pod Identity association of the
  # service's own service account (named after it, created with it) with this role.
  iam {
    role_arn = "arn:aws:iam::123456789012:role/metabase"
  }

  database {
    type     = "mysql"
    host     = "metabase.abc123.eu-central-1.rds.amazonaws.com"
    name     = "metabase"
    username = "metabase"
    password = var.metabase_db_password
  }

  # With the certificate, HTTP is redirected to HTTPS (ssl_redirect defaults to true), and the
  # ALB checks the targets on Metabase's /api/health (health_check_path defaults to the engine's
  # health endpoint).
  ingress {
    host            = "metabase.analytics.example.com"
    scheme          = "internal"
    group_name      = "analytics"
    certificate_arn = "arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    inbound_cidrs   = ["10.0.0.0/8", "172.20.0.0/16"] # the VPCs and the office VPN only
    wafv2_acl_arn   = "arn:aws:wafv2:eu-central-1:123456789012:regional/webacl/analytics/a1b2c3d4-5678-90ab-cdef-111122223333"
  }

  monitoring {}

  # JVM sizing, the time zone reports and schedules use, and the address links in e-mails
  # point at.
  java_opts = "-XX:MaxRAMPercentage=75"
  timezone  = "Europe/Berlin"
  site_url  = "https://metabase.analytics.example.com/"

  # Database drivers Metabase does not ship (e.g. a community Athena or ClickHouse driver):
  # jars in a volume mounted at /plugins, where the image looks for plugins (MB_PLUGINS_DIR;
  # set it in env when mounting elsewhere).
  extra_volumes {
    name                    = "plugins"
    persistent_volume_claim = "metabase-plugins"
  }
  extra_volume_mounts {
    name       = "plugins"
    mount_path = "/plugins"
  }

  # Migrations after a Metabase upgrade can take long on a big application database: give
  # the first start 20 minutes instead of the default 10 before the pod is restarted.
  startup_probe {
    failure_threshold = 120
  }
}

# Superset: PostgreSQL, Redis and its secret key, with no credential in Terraform at all: the
# RDS-managed master password and the secret key come from Secrets that External Secrets keeps
# in the namespace. The Deployment reads them with secretKeyRef; the provider never reads them,
# and they need not exist at plan time. Superset's SQLALCHEMY_DATABASE_URI is composed in the
# container from the referenced password.
resource "dataplatform_bi_service" "superset" {
  cluster_name     = "analytics"
  name             = "superset"
  namespace        = "superset"
  create_namespace = true # the ExternalSecrets sync into it; pods wait for their Secrets
  engine           = "superset"

  # Two to six pods on CPU (an owned HorizontalPodAutoscaler; replicas is left to it).
  autoscaling {
    min_replicas = 2
    max_replicas = 6
  }
  placement        = dataplatform_nodegroup.infra.placement

  database {
    type     = "postgres"
    host     = "superset.abc123.eu-central-1.rds.amazonaws.com"
    name     = "superset"
    username = "superset"
    ssl      = "require" # sslmode in the SQLAlchemy URI
    options  = { application_name = "superset" }
    password_secret {
      name = "superset-rds-master" # synced from the RDS-managed secret in Secrets Manager
      key  = "password"
    }
    # Or, on Terraform 1.11 and later, a write-only password kept out of plan and state:
    # password_wo         = var.superset_db_password
    # password_wo_version = 1
  }

  secrets {
    secret_key_secret {
      name = "superset-keys"
      key  = "secret-key"
    }
    redis_url = "redis://analytics.abc123.euc1.cache.amazonaws.com:6379/0"
    # Write-only forms exist for every engine secret (Terraform 1.11 and later):
    # secret_key_wo         = var.superset_secret_key
    # secret_key_wo_version = 1
  }

  # Referenced Secrets are never read, so their rotation cannot be seen: change this (here to
  # the rotation date) to roll the pods onto the new values.
  secret_version = "2026-06-01"

  # Replicas spread over zones and hosts by default (ScheduleAnyway); on-demand nodes only,
  # and never two replicas on one node.
  affinity {
    pod_anti_affinity = "required"
    node_affinity {
      key      = "karpenter.sh/capacity-type"
      operator = "In"
      values   = ["on-demand"]
    }
  }

  ingress {
    host       = "superset.analytics.example.com"
    group_name = "analytics"
  }
}

# Zeppelin behind ingress-nginx, with the certificate cert-manager keeps in a Secret: no ALB
# annotation is written, and an ALB-only argument (scheme, certificate_arn, inbound_cidrs, ...)
# would be refused at plan time.
resource "dataplatform_bi_service" "zeppelin" {
  cluster_name     = "analytics"
  name             = "zeppelin"
  namespace        = "zeppelin"
  create_namespace = true
  engine           = "zeppelin"
  placement        = dataplatform_nodegroup.infra.placement

  ingress {
    host            = "zeppelin.analytics.example.com"
    class           = "nginx"
    tls_secret_name = "zeppelin-tls"
    annotations = {
      "cert-manager.io/cluster-issuer" = "letsencrypt"
    }
  }
}
