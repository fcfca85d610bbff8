# A Spark pool is imported by namespace and name; its configuration comes back from the
# pod-template ConfigMap's dataplatform.io/config annotation.
terraform import dataplatform_spark_pool.etl etl/etl
