# bi service replicas next to autoscaling
# expect: HorizontalPodAutoscaler sets the number of pods
resource "dataplatform_bi_service" "x" {
  name   = "zeppelin"
  engine = "zeppelin"
  autoscaling {
    max_replicas = 3
  }
  replicas = 2  # <-
}
