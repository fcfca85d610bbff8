# nodegroup disk size with launch template
# expect: launch template
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "infra"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  disk_size = 100  # <-
  scaling_config {
    min_size = 1
    max_size = 3
  }
  launch_template {
    name    = "lt"
    version = "1"
  }
}
