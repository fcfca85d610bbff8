# The seed's whole environment in one apply: node groups by purpose, a Spark pool on the
# Spark groups, and Metabase with its RDS database behind an internal ALB.
terraform {
  required_providers {
    dataplatform = {
      source = "registry.terraform.io/dataplatform/dataplatform"
    }
  }
}

provider "dataplatform" {
  region = var.region
  default_tags {
    tags = { team = "data-engineering" }
  }
}

module "analytics" {
  source = "../modules/spark-on-eks"

  cluster_name  = var.cluster_name
  environment   = "prod"
  node_role_arn = var.node_role_arn
  subnet_ids    = var.subnet_ids

  metabase_image = {
    repository = "registry.example.com/analytics/metabase"
    tag        = "0.40.1-joom-1"
  }
  # The internal registry's credentials and Metabase's encryption key live in Secrets of the
  # prod-bi namespace that the platform team's External Secrets keep; Terraform only names them.
  metabase_image_pull_secrets = ["registry-example-com"]
  metabase_encryption_key_secret = {
    name = "metabase-encryption"
    key  = "MB_ENCRYPTION_SECRET_KEY"
  }
  metabase_database = {
    type     = "mysql"
    host     = "metabase.abc123.eu-central-1.rds.amazonaws.com"
    name     = "metabase"
    username = "metabase"
  }
  spark_event_log_dir = "s3a://analytics-lake/spark-events"
  spark_history_host  = "spark-history.analytics.example.com"

  # Pods get their own IAM roles instead of the nodes'. Spark 3.5's AWS SDK predates EKS Pod
  # Identity, so Spark uses IRSA (the cluster's OIDC provider); Metabase uses Pod Identity.
  spark_iam = {
    role_arn  = "arn:aws:iam::123456789012:role/analytics-spark"
    mechanism = "irsa"
  }
  spark_history_iam = {
    role_arn  = "arn:aws:iam::123456789012:role/analytics-spark-history"
    mechanism = "irsa"
  }
  metabase_iam = {
    role_arn  = "arn:aws:iam::123456789012:role/analytics-metabase"
    mechanism = "pod_identity"
  }

  metabase_database_password = var.metabase_database_password
  metabase_ingress = {
    host            = "metabase.analytics.example.com"
    alb_group       = "analytics"
    certificate_arn = "arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
  }
}
