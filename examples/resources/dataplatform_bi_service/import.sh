# A BI service is imported by namespace and name. The configuration comes back from the
# Deployment's dataplatform.io/config annotation and the credentials from its Secret.
terraform import dataplatform_bi_service.metabase metabase/metabase
