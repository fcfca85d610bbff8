# nodegroup unknown update strategy
# expect: MINIMAL
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "infra"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  scaling_config {
    min_size = 1
    max_size = 3
  }
  update_config {
    max_unavailable = 1
    update_strategy = "FAST"  # <-
  }
}
