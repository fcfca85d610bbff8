# nodegroup empty instance types
# expect: instance_types
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "infra"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  instance_types = []  # <-
  scaling_config {
    min_size = 1
    max_size = 3
  }
}
