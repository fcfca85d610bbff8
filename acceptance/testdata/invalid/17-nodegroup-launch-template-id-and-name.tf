# nodegroup launch template id and name
# expect: exactly one
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "infra"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  scaling_config {
    min_size = 1
    max_size = 3
  }
  launch_template {
    id      = "lt-1"
    name    = "lt"  # <-
    version = "1"
  }
}
