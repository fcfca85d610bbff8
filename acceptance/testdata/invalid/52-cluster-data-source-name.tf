# cluster data source name
# expect: EKS cluster name
data "dataplatform_cluster" "x" {
  name = "bad cluster"  # <-
}
