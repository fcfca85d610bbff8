# nodegroup capacity block without a launch template
# expect: launch_template
resource "dataplatform_nodegroup" "x" {
  cluster_name  = "analytics"
  name          = "reserved"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]
  capacity_type = "CAPACITY_BLOCK"  # <-
  scaling_config {
    min_size = 0
    max_size = 2
  }
}
