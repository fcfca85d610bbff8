# The three node groups of a Spark-on-EKS cluster, separated by purpose.

variable "node_role_arn" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

# Platform services (BI tools, Spark operator, ...): on-demand, no taint.
resource "dataplatform_nodegroup" "infra" {
  cluster_name   = "analytics"
  name           = "infra"
  purpose        = "infra"
  node_role_arn  = var.node_role_arn
  subnet_ids     = var.subnet_ids
  instance_types = ["m6i.2xlarge"]

  scaling_config {
    min_size = 1
    max_size = 7
  }
}

# Spark drivers: tainted so only Spark drivers land here, scaled by the autoscaler.
resource "dataplatform_nodegroup" "spark_driver" {
  cluster_name  = "analytics"
  name_prefix   = "spark-drivers-"
  purpose       = "spark-driver"
  node_role_arn = var.node_role_arn
  subnet_ids    = var.subnet_ids

  scaling_config {
    min_size = 0
    max_size = 10
  }

  lifecycle {
    create_before_destroy = true
  }
}

# Spark executors: spot, memory-heavy instances with local NVMe, tainted.
resource "dataplatform_nodegroup" "spark_executor" {
  cluster_name   = "analytics"
  name           = "spark-executors"
  purpose        = "spark-executor"
  node_role_arn  = var.node_role_arn
  subnet_ids     = var.subnet_ids
  instance_types = ["r5d.2xlarge", "r5dn.2xlarge"]
  # RAID0 over the instance-store NVMe under the kubelet's root (the default for executors on
  # instance-store types): Spark's local dirs and emptyDir volumes are on NVMe.
  local_storage = true

  scaling_config {
    min_size = 0
    max_size = 50
  }

  update_config {
    max_unavailable_percentage = 25
  }

  # EKS replaces nodes that turn unhealthy, two at a time.
  node_repair_config {
    enabled                           = true
    max_parallel_nodes_repaired_count = 2
  }

  tags = {
    cost-center = "data-platform"
  }
}

# Node selector and tolerations, known at plan time, for Spark pools and BI services.
output "spark_executor_placement" {
  value = dataplatform_nodegroup.spark_executor.placement
}
