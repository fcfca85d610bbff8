# nodegroup local storage with a user launch template
# expect: local_storage cannot be set with launch_template
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "spark-executors"
  purpose       = "spark-executor"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  local_storage = true  # <-
  scaling_config {
    min_size = 0
    max_size = 10
  }
  launch_template {
    id      = "lt-0123456789abcdef0"
    version = "1"
  }
}
