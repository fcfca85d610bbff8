# nodegroup no subnets
# expect: subnet_ids
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "infra"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = []  # <-
  scaling_config {
    min_size = 1
    max_size = 3
  }
}
