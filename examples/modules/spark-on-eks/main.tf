# The seed's environment: three node groups separated by purpose, a Spark pool on the
# Spark groups, and Metabase on the infra group behind an internal ALB.

resource "dataplatform_nodegroup" "infra" {
  cluster_name   = var.cluster_name
  name           = "${var.environment}-infra"
  purpose        = "infra"
  node_role_arn  = var.node_role_arn
  subnet_ids     = var.subnet_ids
  instance_types = [var.infra_instance_type]
  scaling_config {
    min_size = var.infra_size.min
    max_size = var.infra_size.max
  }
  tags = { environment = var.environment }
}

resource "dataplatform_nodegroup" "spark_driver" {
  cluster_name  = var.cluster_name
  name          = "${var.environment}-spark-drivers"
  purpose       = "spark-driver"
  node_role_arn = var.node_role_arn
  subnet_ids    = var.subnet_ids
  scaling_config {
    min_size = var.driver_size.min
    max_size = var.driver_size.max
  }
  tags = { environment = var.environment }
}

resource "dataplatform_nodegroup" "spark_executor" {
  cluster_name   = var.cluster_name
  name           = "${var.environment}-spark-executors"
  purpose        = "spark-executor" # spot and tainted by default
  node_role_arn  = var.node_role_arn
  subnet_ids     = var.subnet_ids
  instance_types = var.executor_instance_types
  # The instance-store NVMe disks back the kubelet's root: local dirs are emptyDir on NVMe.
  local_storage = var.executor_local_storage
  scaling_config {
    min_size = var.executor_size.min
    max_size = var.executor_size.max
  }
  tags = { environment = var.environment }
}

resource "dataplatform_spark_pool" "this" {
  cluster_name     = var.cluster_name
  name             = "${var.environment}-spark"
  create_namespace = true
  image            = var.spark_image

  # Drivers and executors run under the data lake's role (spark_conf gets the S3A settings for it).
  driver {
    placement = dataplatform_nodegroup.spark_driver.placement
    dynamic "iam" {
      for_each = var.spark_iam == null ? [] : [var.spark_iam]
      content {
        role_arn  = iam.value.role_arn
        mechanism = iam.value.mechanism
      }
    }
  }

  executor {
    placement  = dataplatform_nodegroup.spark_executor.placement
    cores      = var.spark_executor.cores
    memory     = var.spark_executor.memory
    local_dirs = var.executor_local_dirs
    dynamic "iam" {
      for_each = var.spark_iam == null ? [] : [var.spark_iam]
      content {
        role_arn  = iam.value.role_arn
        mechanism = iam.value.mechanism
      }
    }
  }

  dynamic_allocation {
    max_executors = var.spark_executor.max_executors
  }

  spark_operator {}

  dynamic "event_log" {
    for_each = var.spark_event_log_dir == "" ? [] : [var.spark_event_log_dir]
    content {
      dir = event_log.value
    }
  }

  # The History Server reads the event logs, on the infrastructure nodes, behind Metabase's ALB.
  dynamic "history_server" {
    for_each = var.spark_event_log_dir == "" ? [] : [1]
    content {
      placement = dataplatform_nodegroup.infra.placement
      # Its own role: read access to the event-log prefix is all it needs.
      dynamic "iam" {
        for_each = var.spark_history_iam == null ? [] : [var.spark_history_iam]
        content {
          role_arn  = iam.value.role_arn
          mechanism = iam.value.mechanism
        }
      }
      dynamic "ingress" {
        for_each = var.spark_history_host == "" ? [] : [var.spark_history_host]
        content {
          host            = ingress.value
          group_name      = var.metabase_ingress.alb_group
          certificate_arn = var.metabase_ingress.certificate_arn
        }
      }
    }
  }
}

resource "dataplatform_bi_service" "metabase" {
  cluster_name     = var.cluster_name
  name             = "metabase"
  namespace        = "${var.environment}-bi"
  create_namespace = true
  engine           = "metabase"
  placement        = dataplatform_nodegroup.infra.placement

  image {
    repository = var.metabase_image.repository
    tag        = var.metabase_image.tag
  }
  image_pull_secrets = length(var.metabase_image_pull_secrets) == 0 ? null : var.metabase_image_pull_secrets

  # Metabase's own role (Athena or S3 as data sources), on a service account named after it.
  dynamic "iam" {
    for_each = var.metabase_iam == null ? [] : [var.metabase_iam]
    content {
      role_arn  = iam.value.role_arn
      mechanism = iam.value.mechanism
    }
  }

  # Metabase encrypts the connections it stores with this key: from an existing Secret (kept in
  # the namespace by External Secrets, say), which the Deployment reads and Terraform never does.
  dynamic "secrets" {
    for_each = var.metabase_encryption_key_secret == null ? [] : [var.metabase_encryption_key_secret]
    content {
      encryption_key_secret {
        name = secrets.value.name
        key  = secrets.value.key
      }
    }
  }

  database {
    type     = var.metabase_database.type
    host     = var.metabase_database.host
    name     = var.metabase_database.name
    username = var.metabase_database.username
    password = var.metabase_database_password
  }

  ingress {
    host            = var.metabase_ingress.host
    scheme          = "internal"
    group_name      = var.metabase_ingress.alb_group
    certificate_arn = var.metabase_ingress.certificate_arn

    # The AWS Load Balancer Controller is installed before the platform (as the seed does with
    # Helm): wait for the ALB, whose DNS name the metabase_load_balancer output gives.
    wait_for_load_balancer = true
  }

  dynamic "monitoring" {
    for_each = var.monitoring ? [1] : []
    content {}
  }
}
