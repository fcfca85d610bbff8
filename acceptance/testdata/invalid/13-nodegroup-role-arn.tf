# nodegroup role arn
# expect: IAM role ARN
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "infra"
  node_role_arn = "arn:aws:iam::123:role/nodes"  # <-
  subnet_ids    = ["subnet-1"]
  scaling_config {
    min_size = 1
    max_size = 3
  }
}
