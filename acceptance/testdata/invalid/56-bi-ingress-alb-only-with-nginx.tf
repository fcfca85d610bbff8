# bi ingress ALB-only argument with the nginx class
# expect: ingress.inbound_cidrs is written as an annotation of the AWS Load Balancer Controller
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  ingress {
    host          = "m.example.com"
    class         = "nginx"
    inbound_cidrs = ["10.0.0.0/8"]  # <-
  }
}
