# A BI service is imported by cluster, namespace and name. The configuration comes back from the
# Deployment's dataplatform.io/config annotation and the credentials from its Secret.
terraform import dataplatform_bi_service.metabase analytics:metabase/metabase

# When the provider names the cluster (`cluster_name` or a `kubernetes` block), namespace and
# name are enough.
terraform import dataplatform_bi_service.metabase metabase/metabase
