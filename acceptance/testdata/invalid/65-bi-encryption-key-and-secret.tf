# bi encryption key given and taken from a Secret
# expect: not both
# absent: s3cr3t-encryption-key-0001
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  secrets {
    encryption_key = "s3cr3t-encryption-key-0001"
    encryption_key_secret {  # <-
      name = "metabase-keys"
      key  = "encryption-key"
    }
  }
}
