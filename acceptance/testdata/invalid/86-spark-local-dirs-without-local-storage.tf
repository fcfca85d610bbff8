# spark local dirs on a node group without local storage
# expect: Local dirs on a node group without local storage
resource "dataplatform_nodegroup" "drivers" {
  cluster_name  = "analytics"
  name          = "spark-drivers"
  purpose       = "spark-driver"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  scaling_config {
    min_size = 0
    max_size = 3
  }
}

resource "dataplatform_nodegroup" "executors" {
  cluster_name   = "analytics"
  name           = "spark-executors"
  purpose        = "spark-executor"
  instance_types = ["r5.2xlarge"]
  node_role_arn  = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids     = ["subnet-1"]
  scaling_config {
    min_size = 0
    max_size = 10
  }
}

resource "dataplatform_spark_pool" "x" {
  name = "etl"
  driver {
    placement = dataplatform_nodegroup.drivers.placement
  }
  executor {
    placement  = dataplatform_nodegroup.executors.placement
    local_dirs = ["/mnt/nvme0"]  # <-
  }
}
