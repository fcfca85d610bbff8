# bi service image pull secret that is not a Secret name
# expect: Secret name
resource "dataplatform_bi_service" "x" {
  name               = "zeppelin"
  engine             = "zeppelin"
  image_pull_secrets = ["Registry Credentials"]  # <-
}
