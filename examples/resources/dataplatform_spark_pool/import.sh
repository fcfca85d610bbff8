# A Spark pool is imported by cluster, namespace and name; its configuration comes back from the
# pod-template ConfigMap's dataplatform.io/config annotation.
terraform import dataplatform_spark_pool.etl analytics:etl/etl

# When the provider names the cluster (`cluster_name` or a `kubernetes` block), namespace and
# name are enough.
terraform import dataplatform_spark_pool.etl etl/etl
