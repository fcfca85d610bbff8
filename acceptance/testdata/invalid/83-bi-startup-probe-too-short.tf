# bi service startup probe shorter than Metabase's start
# expect: needs at least 300
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  startup_probe {
    period_seconds    = 10
    failure_threshold = 6  # <-
  }
}
