# nodegroup min above max
# expect: min_size
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "infra"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  scaling_config {
    min_size = 5  # <-
    max_size = 2
  }
}
