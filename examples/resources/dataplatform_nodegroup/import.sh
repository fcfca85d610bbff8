# A node group is imported by "<cluster name>:<node group name>".
terraform import dataplatform_nodegroup.spark_executor analytics:spark-executors
