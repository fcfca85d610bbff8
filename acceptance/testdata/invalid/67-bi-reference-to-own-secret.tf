# bi reference to the Secret the service writes itself
# expect: the one this resource writes for the service
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  secrets {
    encryption_key_secret {
      name = "metabase"  # <-
      key  = "encryption-key"
    }
  }
}
