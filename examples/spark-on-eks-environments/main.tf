# Production and staging side by side on one cluster, as the seed runs them: the same module
# twice, each with its own node groups, Spark pool and Metabase.
terraform {
  required_providers {
    dataplatform = {
      source = "registry.terraform.io/dataplatform/dataplatform"
    }
  }
}

provider "dataplatform" {
  region = var.region
}

variable "region" {
  type    = string
  default = "eu-central-1"
}

variable "cluster_name" {
  type    = string
  default = "analytics"
}

variable "node_role_arn" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "metabase_database_password" {
  type      = string
  sensitive = true
}

module "production" {
  source = "../modules/spark-on-eks"

  cluster_name  = var.cluster_name
  environment   = "prod"
  node_role_arn = var.node_role_arn
  subnet_ids    = var.subnet_ids

  metabase_database = {
    type     = "mysql"
    host     = "metabase-prod.abc123.eu-central-1.rds.amazonaws.com"
    name     = "metabase"
    username = "metabase"
  }
  metabase_database_password = var.metabase_database_password
  metabase_ingress = {
    host            = "metabase.analytics.example.com"
    alb_group       = "analytics"
    certificate_arn = null
  }
}

module "staging" {
  source = "../modules/spark-on-eks"

  cluster_name  = var.cluster_name
  environment   = "stage"
  node_role_arn = var.node_role_arn
  subnet_ids    = var.subnet_ids

  # Smaller, and nothing running overnight.
  infra_size     = { min = 1, max = 2 }
  executor_size  = { min = 0, max = 10 }
  spark_executor = { cores = 4, memory = "24g", max_executors = 20 }

  metabase_database = {
    type     = "mysql"
    host     = "metabase-stage.abc123.eu-central-1.rds.amazonaws.com"
    name     = "metabase"
    username = "metabase"
  }
  metabase_database_password = var.metabase_database_password
  metabase_ingress = {
    host            = "metabase.stage.analytics.example.com"
    alb_group       = "analytics-stage"
    certificate_arn = null
  }
  monitoring = false
}

output "metabase_urls" {
  value = {
    production = module.production.metabase_url
    staging    = module.staging.metabase_url
  }
}

output "spark_namespaces" {
  value = [module.production.spark_namespace, module.staging.spark_namespace]
}
