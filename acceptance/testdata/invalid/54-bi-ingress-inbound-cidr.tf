# bi ingress inbound cidr with host bits
# expect: the network is "10.1.0.0/16"
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  ingress {
    host          = "m.example.com"
    inbound_cidrs = ["192.168.0.0/16", "10.1.2.3/16"]  # <-
  }
}
