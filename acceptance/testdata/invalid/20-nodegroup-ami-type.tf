# nodegroup ami type
# expect: UBUNTU
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "infra"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  ami_type = "UBUNTU"  # <-
  scaling_config {
    min_size = 1
    max_size = 3
  }
}
