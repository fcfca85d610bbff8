# nodegroup capacity type
# expect: RESERVED
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "infra"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  capacity_type = "RESERVED"  # <-
  scaling_config {
    min_size = 1
    max_size = 3
  }
}
