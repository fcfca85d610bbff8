#!/usr/bin/env python3
"""The project's AWS stand-in: moto's server, extended with what EKS does and moto lacks.

Adds to moto (5.2.x): UpdateNodegroupVersion, DescribeUpdate and ListUpdates; lifecycle states
(CREATING, UPDATING, DELETING for a few describes, globally or per node group; DeleteNodegroup
refused while a group is CREATING or UPDATING, as EKS does); a real Auto Scaling group behind
each node group; node group tags; CreateNodegroup's clientRequestToken honoured as EKS does (the
same token again answers with the group it made); fixes for moto's defaults that look like drift
(dropped updateConfig, a default remoteAccess, a fixed release version, version not following the
cluster) or that EKS would never send (diskSize as the string "20", defaults shared between
groups); a configurable cluster endpoint and certificate authority (to point clusters at
kube-sandbox); EKS Pod Identity associations; and, under /_sandbox/, a control API for fault injection (throttling, 5xx, latency,
for some services or some EKS operations; answers of the wrong shape), the cluster autoscaler,
failed creates and failed updates, and request counts (per service, and per node group operation
for EKS, and AssumeRoleWith* calls for STS); presigned STS GetCallerIdentity requests (the inside
of EKS IAM tokens) verified as STS does, signature and expiry, so that the Kubernetes stand-in
can verify EKS tokens through it as EKS does. With the same --seed, a restarted sandbox seeded by seed.py gets
the same IDs again (moto keeps its state in memory: a restart loses everything else).

Prints `SANDBOX_READY http://127.0.0.1:PORT` on stdout once it accepts connections.
"""
import argparse
import json
import os
import random
import re
import sys
import threading
import time
import uuid

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from moto.autoscaling.models import autoscaling_backends
from moto.core import responses as moto_responses
from moto.ec2.models import ec2_backends
from moto.eks import models as eks_models
from moto.eks import urls as eks_urls
from moto.eks.exceptions import InvalidParameterException, ResourceInUseException, ResourceNotFoundException
from moto.eks.responses import EKSResponse
from moto.moto_api._internal import mock_random
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

LOCK = threading.RLock()

# moto draws every response's request ID from the same generator as resource IDs, so with a
# seed the IDs would still depend on how many requests arrived in between (a client that keeps
# polling while a restarted sandbox is seeded shifts them). Request IDs get their own generator.
REQUEST_IDS = random.Random()
REQUEST_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def request_id(headers=None):
    rid = "".join(REQUEST_IDS.choices(REQUEST_ID_CHARS, k=52))
    if isinstance(headers, dict):
        headers["x-amzn-requestid"] = rid
    return rid


moto_responses.gen_amzn_requestid_long = request_id


class Settings:
    lifecycle_describes = 2
    lifecycle_for = {}  # (cluster, nodegroup) -> describes, overriding lifecycle_describes
    cluster_endpoint = None
    throttle_rate = 0.0
    error_rate = 0.0
    latency_ms = 0
    services = None  # None: all
    operations = None  # None: all; else the EKS operations (e.g. "DescribeNodegroup") faults apply to
    malformed = {}  # EKS operation -> how many of its next answers have a value of the wrong type
    rng = random.Random(0)
    fail_next_update = {}  # (cluster, nodegroup) -> error
    fail_next_create = {}  # (cluster, nodegroup) -> issue
    stats = {}

    @classmethod
    def clear_faults(cls):
        cls.throttle_rate = cls.error_rate = 0.0
        cls.latency_ms = 0
        cls.services = cls.operations = None
        cls.malformed = {}


def describes_for(cluster_name, nodegroup_name):
    """How many describes a transition of this node group (create, update, delete) lasts."""
    return Settings.lifecycle_for.get((cluster_name, nodegroup_name), Settings.lifecycle_describes)


def count(key):
    with LOCK:
        Settings.stats[key] = Settings.stats.get(key, 0) + 1


# ---------------------------------------------------------------- EKS model extensions

def release_for(version):
    return f"{version}.0-20240531"


_orig_ng_init = eks_models.Nodegroup.__init__


def _ng_init(self, *args, **kwargs):
    remote_access = kwargs.get("remote_access")
    release_version = kwargs.get("release_version")
    _orig_ng_init(self, *args, **kwargs)
    self.remote_access = remote_access
    self.release_version = release_version or release_for(self.version)
    # moto's defaults: a string disk size ("20", EKS sends a number) and dicts shared by every
    # group created without them (one group's scaling update would change the others').
    if self.disk_size is not None:
        self.disk_size = int(self.disk_size)
    self.scaling_config = dict(self.scaling_config)
    self.instance_types = list(self.instance_types)
    self.health = {"issues": []}
    # EKS reports maxUnavailable 1 when no update configuration was given.
    self.update_config = kwargs.get("update_config") or {"maxUnavailable": 1}
    self._remaining = 0
    self._phase = None
    self._updates = {}


eks_models.Nodegroup.__init__ = _ng_init

_orig_cluster_init = eks_models.Cluster.__init__


def _cluster_init(self, *args, **kwargs):
    _orig_cluster_init(self, *args, **kwargs)
    if Settings.cluster_endpoint:
        self.endpoint = Settings.cluster_endpoint
    self.certificate_authority = {"data": CA_DATA}


eks_models.Cluster.__init__ = _cluster_init


def _asg_backend(ng):
    return autoscaling_backends[ng._account_id][ng.region]


def _launch_template(account_id, region):
    ec2 = ec2_backends[account_id][region]
    name = "eks-sandbox-nodes"
    try:
        return ec2.describe_launch_templates(template_names=[name])[0]
    except Exception:
        return ec2.create_launch_template(name, "node groups", {"ImageId": "ami-12c6146b", "InstanceType": "t3.medium"}, tag_spec={})


def _create_asg(ng, account_id):
    ng._account_id = account_id
    backend = _asg_backend(ng)
    lt = _launch_template(account_id, ng.region)
    name = f"eks-{ng.nodegroup_name}-{uuid.uuid4().hex[:8]}"
    sc = ng.scaling_config or {}
    backend.create_auto_scaling_group(
        name=name, availability_zones=[], desired_capacity=0, max_size=sc.get("maxSize", 1),
        min_size=0, launch_config_name=None,
        launch_template={"LaunchTemplateId": lt.id, "Version": "$Latest"},
        vpc_zone_identifier=",".join(ng.subnets or []), default_cooldown=None, health_check_period=None,
        health_check_type=None, load_balancers=[], target_group_arns=[], placement_group=None,
        termination_policies=[],
        tags=[{"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": "eks:cluster-name",
               "Value": ng.cluster_name, "PropagateAtLaunch": "true"},
              {"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": "eks:nodegroup-name",
               "Value": ng.nodegroup_name, "PropagateAtLaunch": "true"}])
    ng.resources = {"autoScalingGroups": [{"name": name}]}
    _size_asg(ng)


def _size_asg(ng):
    sc = ng.scaling_config or {}
    try:
        group = _asg_backend(ng).autoscaling_groups[ng.resources["autoScalingGroups"][0]["name"]]
    except (KeyError, IndexError, AttributeError):
        return
    group.min_size = sc.get("minSize", 0)
    group.max_size = sc.get("maxSize", 1)
    group.desired_capacity = sc.get("desiredSize", 0)


def _delete_asg(ng):
    for g in (ng.resources or {}).get("autoScalingGroups", []):
        try:
            _asg_backend(ng).delete_auto_scaling_group(g["name"])
        except Exception:
            pass


_orig_create_ng = eks_models.EKSBackend.create_nodegroup


def _create_ng(self, **kwargs):
    cluster_name, nodegroup_name = kwargs["cluster_name"], kwargs["nodegroup_name"]
    with LOCK:
        cluster = self.clusters.get(cluster_name)
        token = kwargs.get("client_request_token")
        if cluster is not None and token:
            # As EKS: a request sent again with its token is the same request.
            for existing in cluster.nodegroups.values():
                if existing.client_request_token != token:
                    continue
                if existing.nodegroup_name != nodegroup_name:
                    raise InvalidParameterException(
                        clusterName=cluster_name, nodegroupName=nodegroup_name, fargateProfileName=None,
                        addonName=None, message="The client request token was used for a different request.")
                count("eks.CreateNodegroup.repeated")
                return existing
        if cluster is not None and not kwargs.get("version"):
            kwargs["version"] = cluster.version
        ng = _orig_create_ng(self, **kwargs)
        _create_asg(ng, self.account_id)
        describes = describes_for(cluster_name, nodegroup_name)
        if describes > 0:
            ng.status = "CREATING"
            ng._phase = "create"
            ng._remaining = describes
        elif (cluster_name, nodegroup_name) in Settings.fail_next_create:
            _fail_create(ng)
        return ng


def _fail_create(ng):
    issue = Settings.fail_next_create.pop((ng.cluster_name, ng.nodegroup_name))
    ng.status = "CREATE_FAILED"
    ng.health = {"issues": [{"code": issue.get("code", "AsgInstanceLaunchFailures"),
                             "message": issue.get("message", "instances failed to launch"),
                             "resourceIds": issue.get("resource_ids", [])}]}


def _advance(backend, cluster, ng):
    """One describe passes: move along the lifecycle."""
    if ng._phase is None:
        return
    if ng._remaining > 0:
        ng._remaining -= 1
        return
    phase, ng._phase = ng._phase, None
    if phase == "create":
        if (ng.cluster_name, ng.nodegroup_name) in Settings.fail_next_create:
            _fail_create(ng)
        else:
            ng.status = "ACTIVE"
    elif phase == "update":
        ng.status = "ACTIVE"
        for u in ng._updates.values():
            if u["status"] == "InProgress":
                u["status"] = "Successful"
    elif phase == "delete":
        _delete_asg(ng)
        cluster.nodegroups.pop(ng.nodegroup_name, None)
        cluster.nodegroup_count -= 1


_orig_describe_ng = eks_models.EKSBackend.describe_nodegroup


def _describe_ng(self, cluster_name, nodegroup_name):
    with LOCK:
        ng = _orig_describe_ng(self, cluster_name, nodegroup_name)
        _advance(self, self.clusters[cluster_name], ng)
        return _orig_describe_ng(self, cluster_name, nodegroup_name)


eks_models.EKSBackend.create_nodegroup = _create_ng
eks_models.EKSBackend.describe_nodegroup = _describe_ng

_orig_delete_ng = eks_models.EKSBackend.delete_nodegroup


def _delete_ng(self, cluster_name, nodegroup_name):
    with LOCK:
        ng = _orig_describe_ng(self, cluster_name, nodegroup_name)
        if ng.status == "DELETING":
            return ng
        if ng.status in ("CREATING", "UPDATING"):
            # As EKS: a group must settle before it can be deleted.
            raise ResourceInUseException(
                clusterName=cluster_name, nodegroupName=nodegroup_name, addonName=None,
                message=f"Nodegroup {nodegroup_name} cannot be deleted because it is currently {ng.status}")
        describes = describes_for(cluster_name, nodegroup_name)
        if describes > 0:
            ng.status = "DELETING"
            ng._phase = "delete"
            ng._remaining = describes
            return ng
        _delete_asg(ng)
        return _orig_delete_ng(self, cluster_name, nodegroup_name)


eks_models.EKSBackend.delete_nodegroup = _delete_ng

_orig_list_ng = eks_models.EKSBackend.list_nodegroups


def _list_ng(self, cluster_name, *args, **kwargs):
    if cluster_name not in self.clusters:
        raise ResourceNotFoundException(clusterName=cluster_name, nodegroupName=None, fargateProfileName=None,
                                        addonName=None, message=f"No cluster found for name: {cluster_name}.")
    return _orig_list_ng(self, cluster_name, *args, **kwargs)


eks_models.EKSBackend.list_nodegroups = _list_ng

PARAM_TYPES = {"Labels": "LabelsToAdd", "Taints": "TaintsToAdd", "ScalingConfig": "MaxSize",
               "UpdateConfig": "MaxUnavailable", "NodeRepairConfig": "NodeRepairEnabled"}


def _begin_update(ng, update):
    describes = describes_for(ng.cluster_name, ng.nodegroup_name)
    update["status"] = "InProgress" if describes > 0 else "Successful"
    ng._updates[update["id"]] = update
    if describes > 0:
        ng.status = "UPDATING"
        ng._phase = "update"
        ng._remaining = describes
    return update


def _failed_update(ng, kind, failure):
    update = {"id": str(uuid.uuid4()), "status": "Failed", "type": kind, "params": [],
              "createdAt": time.time(),
              "errors": [{"errorCode": failure.get("error_code", "PodEvictionFailure"),
                          "errorMessage": failure.get("message", ""),
                          "resourceIds": failure.get("resource_ids", [])}]}
    ng._updates[update["id"]] = update
    return update


_orig_update_cfg = eks_models.EKSBackend.update_nodegroup_config


def _update_cfg(self, cluster_name, nodegroup_name, *args, **kwargs):
    with LOCK:
        ng = _orig_describe_ng(self, cluster_name, nodegroup_name)
        failure = Settings.fail_next_update.pop((cluster_name, nodegroup_name), None)
        if failure:
            return _failed_update(ng, "ConfigUpdate", failure)
        update = _orig_update_cfg(self, cluster_name, nodegroup_name, *args, **kwargs)
        for p in update.get("params", []):
            p["type"] = PARAM_TYPES.get(p["type"], p["type"])
        _size_asg(ng)
        return _begin_update(ng, update)


eks_models.EKSBackend.update_nodegroup_config = _update_cfg


def _find_by_arn(backend, arn):
    for c in backend.clusters.values():
        if c.arn == arn:
            return c
        for ng in c.nodegroups.values():
            if ng.arn == arn:
                return ng
    raise ResourceNotFoundException(clusterName=None, nodegroupName=None, fargateProfileName=None, addonName=None,
                                    message="Resource was not found")


def _tag(self, resource_arn, tags):
    _find_by_arn(self, resource_arn).tags.update(tags)


def _untag(self, resource_arn, tag_keys):
    obj = _find_by_arn(self, resource_arn)
    for k in tag_keys if isinstance(tag_keys, list) else [tag_keys]:
        obj.tags.pop(k, None)


def _list_tags(self, resource_arn):
    return _find_by_arn(self, resource_arn).tags


eks_models.EKSBackend.tag_resource = _tag
eks_models.EKSBackend.untag_resource = _untag
eks_models.EKSBackend.list_tags_for_resource = _list_tags


# ---------------------------------------------------------------- EKS API extensions

def _resp_create_nodegroup(self):
    p = self._get_param
    ng = self.eks_backend.create_nodegroup(
        cluster_name=p("name"), nodegroup_name=p("nodegroupName"), scaling_config=p("scalingConfig"),
        disk_size=self._get_int_param("diskSize"), subnets=p("subnets"), instance_types=p("instanceTypes"),
        ami_type=p("amiType"), remote_access=p("remoteAccess"), node_role=p("nodeRole"), labels=p("labels"),
        taints=p("taints"), tags=p("tags"), client_request_token=p("clientRequestToken"),
        launch_template=p("launchTemplate"), capacity_type=p("capacityType"), version=p("version"),
        release_version=p("releaseVersion"))
    if getattr(ng, "_update_config_set", False) is False:
        ng.update_config = p("updateConfig") or {"maxUnavailable": 1}
        ng._update_config_set = True
        # moto's CreateNodegroup takes no repair configuration (its UpdateNodegroupConfig does).
        ng.node_repair_config = p("nodeRepairConfig")
    return json.dumps({"nodegroup": _ng_json(ng)})


def _template_ref(ng):
    # As EKS: a group created from a template by id also reports the template's name.
    ref = dict(ng.launch_template)
    if ref.get("id") and not ref.get("name"):
        try:
            ec2 = ec2_backends[ng._account_id][ng.region]
            ref["name"] = ec2.describe_launch_templates(template_ids=[ref["id"]])[0].name
        except Exception:
            pass
    return ref


def _ng_json(ng):
    out = {
        "nodegroupName": ng.nodegroup_name, "nodegroupArn": ng.arn, "clusterName": ng.cluster_name,
        "version": ng.version, "releaseVersion": ng.release_version, "createdAt": ng.created_at.timestamp()
        if hasattr(ng.created_at, "timestamp") else ng.created_at,
        "modifiedAt": time.time(), "status": ng.status, "capacityType": ng.capacity_type,
        "scalingConfig": ng.scaling_config, "instanceTypes": ng.instance_types, "subnets": ng.subnets,
        "amiType": ng.ami_type, "nodeRole": ng.node_role, "labels": ng.labels, "taints": ng.taints,
        "resources": ng.resources, "diskSize": ng.disk_size, "health": ng.health, "tags": ng.tags,
    }
    if ng.update_config:
        out["updateConfig"] = ng.update_config
    if ng.remote_access:
        out["remoteAccess"] = ng.remote_access
    if getattr(ng, "node_repair_config", None):
        out["nodeRepairConfig"] = ng.node_repair_config
    if ng.launch_template:
        out["launchTemplate"] = _template_ref(ng)
    if ng.launch_template:
        out.pop("diskSize", None)
    return out


def _resp_describe_nodegroup(self):
    ng = self.eks_backend.describe_nodegroup(cluster_name=self._get_param("name"),
                                             nodegroup_name=self._get_param("nodegroupName"))
    return json.dumps({"nodegroup": _ng_json(ng)})


def _resp_delete_nodegroup(self):
    ng = self.eks_backend.delete_nodegroup(cluster_name=self._get_param("name"),
                                           nodegroup_name=self._get_param("nodegroupName"))
    return json.dumps({"nodegroup": _ng_json(ng)})


def _update_json(u):
    return {**u, "createdAt": u["createdAt"].timestamp() if hasattr(u["createdAt"], "timestamp") else u["createdAt"]}


def _resp_update_nodegroup_config(self):
    p = self._get_param
    u = self.eks_backend.update_nodegroup_config(
        cluster_name=p("name"), nodegroup_name=p("nodegroupName"), labels=p("labels"), taints=p("taints"),
        scaling_config=p("scalingConfig"), update_config=p("updateConfig"),
        node_repair_config=p("nodeRepairConfig"), client_request_token=p("clientRequestToken"))
    return json.dumps({"update": _update_json(u)})


def _resp_update_nodegroup_version(self):
    p = self._get_param
    cluster, name = p("name"), p("nodegroupName")
    with LOCK:
        ng = _orig_describe_ng(self.eks_backend, cluster, name)
        failure = Settings.fail_next_update.pop((cluster, name), None)
        if failure:
            return json.dumps({"update": _update_json(_failed_update(ng, "VersionUpdate", failure))})
        params = []
        if p("version"):
            ng.version = p("version")
            params.append({"type": "Version", "value": ng.version})
        if p("releaseVersion"):
            ng.release_version = p("releaseVersion")
        elif p("version"):
            ng.release_version = release_for(ng.version)
        params.append({"type": "ReleaseVersion", "value": ng.release_version})
        if p("launchTemplate"):
            ng.launch_template = {**(ng.launch_template or {}), **p("launchTemplate")}
            params.append({"type": "LaunchTemplateVersion", "value": str(p("launchTemplate").get("version"))})
        update = {"id": str(uuid.uuid4()), "type": "VersionUpdate", "params": params, "createdAt": time.time(),
                  "errors": []}
        return json.dumps({"update": _update_json(_begin_update(ng, update))})


def _resp_describe_update(self):
    cluster, name = self._get_param("name"), self._get_param("nodegroupName")
    update_id = self.path.rstrip("/").split("/")[-1].split("?")[0]
    with LOCK:
        ng = _orig_describe_ng(self.eks_backend, cluster, name)
        _advance(self.eks_backend, self.eks_backend.clusters[cluster], ng)
        u = ng._updates.get(update_id)
        if u is None:
            raise ResourceNotFoundException(clusterName=cluster, nodegroupName=name, fargateProfileName=None,
                                            addonName=None, message=f"No update found for ID: {update_id}.")
        return json.dumps({"update": _update_json(u)})


def _resp_list_updates(self):
    cluster, name = self._get_param("name"), self._get_param("nodegroupName")
    ng = _orig_describe_ng(self.eks_backend, cluster, name)
    return json.dumps({"updateIds": list(ng._updates)})


def _resp_untag_resource(self):
    # moto reads one `tagKeys` of the query string; UntagResource sends one per key.
    keys = self.querystring.get("tagKeys", [])
    self.eks_backend.untag_resource(self._extract_arn_from_path(), list(keys))
    return "{}"


EKSResponse.untag_resource = _resp_untag_resource
EKSResponse.create_nodegroup = _resp_create_nodegroup
EKSResponse.describe_nodegroup = _resp_describe_nodegroup
EKSResponse.delete_nodegroup = _resp_delete_nodegroup
EKSResponse.update_nodegroup_config = _resp_update_nodegroup_config
EKSResponse.update_nodegroup_version = _resp_update_nodegroup_version
EKSResponse.describe_update = _resp_describe_update
EKSResponse.list_updates = _resp_list_updates

for pattern in [r"{0}/clusters/(?P<name>[^/]+)/node-groups/(?P<nodegroupName>[^/]+)/update-version$",
                r"{0}/clusters/(?P<name>[^/]+)/updates$",
                r"{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$"]:
    eks_urls.url_paths[pattern] = EKSResponse.dispatch


# ---------------------------------------------------------------- EKS Pod Identity associations
# moto has none: Create, Describe, List, Update and Delete, with EKS's errors (ResourceInUseException
# for a second association of the same namespace and service account, ResourceNotFoundException
# for an unknown cluster or association ID).


def _associations(backend):
    if not hasattr(backend, "_pod_identities"):
        backend._pod_identities = {}
    return backend._pod_identities


def _association_cluster(backend, name):
    if name not in backend.clusters:
        raise ResourceNotFoundException(clusterName=name, nodegroupName=None, fargateProfileName=None,
                                        addonName=None, message=f"No cluster found for name: {name}.")
    return backend.clusters[name]


def _association(backend, cluster, association_id):
    _association_cluster(backend, cluster)
    a = _associations(backend).get(association_id)
    if a is None or a["clusterName"] != cluster:
        raise ResourceNotFoundException(clusterName=cluster, nodegroupName=None, fargateProfileName=None,
                                        addonName=None,
                                        message=f"No Pod Identity Association found for id: {association_id}.")
    return a


def _association_id():
    return "a-" + "".join(mock_random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(17))


def _resp_create_pod_identity_association(self):
    body = json.loads(self.body or "{}")
    cluster = self.path.split("/clusters/")[1].split("/")[0]
    with LOCK:
        b = self.eks_backend
        c = _association_cluster(b, cluster)
        for a in _associations(b).values():
            if (a["clusterName"], a["namespace"], a["serviceAccount"]) == \
                    (cluster, body["namespace"], body["serviceAccount"]):
                raise ResourceInUseException(
                    clusterName=cluster, nodegroupName=None, addonName=None,
                    message="Association already exists: " + a["associationId"])
        aid = _association_id()
        now = time.time()
        a = {"clusterName": cluster, "namespace": body["namespace"], "serviceAccount": body["serviceAccount"],
             "roleArn": body["roleArn"], "associationId": aid,
             "associationArn": f"{c.arn.replace(':cluster/', ':podidentityassociation/')}/{aid}",
             "tags": body.get("tags") or {}, "createdAt": now, "modifiedAt": now}
        _associations(b)[aid] = a
        return json.dumps({"association": a})


def _resp_describe_pod_identity_association(self):
    parts = self.path.split("?")[0].rstrip("/").split("/")
    with LOCK:
        return json.dumps({"association": _association(self.eks_backend, parts[-3], parts[-1])})


def _resp_list_pod_identity_associations(self):
    cluster = self.path.split("/clusters/")[1].split("/")[0]
    ns = self.querystring.get("namespace", [None])[0]
    sa = self.querystring.get("serviceAccount", [None])[0]
    with LOCK:
        _association_cluster(self.eks_backend, cluster)
        found = [{k: a[k] for k in ("clusterName", "namespace", "serviceAccount", "associationArn",
                                    "associationId")}
                 for a in _associations(self.eks_backend).values()
                 if a["clusterName"] == cluster and ns in (None, a["namespace"]) and
                 sa in (None, a["serviceAccount"])]
        return json.dumps({"associations": found})


def _resp_update_pod_identity_association(self):
    parts = self.path.split("?")[0].rstrip("/").split("/")
    body = json.loads(self.body or "{}")
    with LOCK:
        a = _association(self.eks_backend, parts[-3], parts[-1])
        if body.get("roleArn"):
            a["roleArn"] = body["roleArn"]
        a["modifiedAt"] = time.time()
        return json.dumps({"association": a})


def _resp_delete_pod_identity_association(self):
    parts = self.path.split("?")[0].rstrip("/").split("/")
    with LOCK:
        a = _association(self.eks_backend, parts[-3], parts[-1])
        del _associations(self.eks_backend)[a["associationId"]]
        return json.dumps({"association": a})


EKSResponse.create_pod_identity_association = _resp_create_pod_identity_association
EKSResponse.describe_pod_identity_association = _resp_describe_pod_identity_association
EKSResponse.list_pod_identity_associations = _resp_list_pod_identity_associations
EKSResponse.update_pod_identity_association = _resp_update_pod_identity_association
EKSResponse.delete_pod_identity_association = _resp_delete_pod_identity_association

for pattern in [r"{0}/clusters/(?P<name>[^/]+)/pod-identity-associations$",
                r"{0}/clusters/(?P<name>[^/]+)/pod-identity-associations/(?P<associationId>[^/]+)$"]:
    eks_urls.url_paths[pattern] = EKSResponse.dispatch


# ---------------------------------------------------------------- faults and control API

SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")


EKS_OPERATIONS = [
    ("POST", re.compile(r"^/clusters/[^/]+/node-groups/?$"), "CreateNodegroup"),
    ("GET", re.compile(r"^/clusters/[^/]+/node-groups/?$"), "ListNodegroups"),
    ("GET", re.compile(r"^/clusters/[^/]+/node-groups/[^/]+/?$"), "DescribeNodegroup"),
    ("DELETE", re.compile(r"^/clusters/[^/]+/node-groups/[^/]+/?$"), "DeleteNodegroup"),
    ("POST", re.compile(r"^/clusters/[^/]+/node-groups/[^/]+/update-config$"), "UpdateNodegroupConfig"),
    ("POST", re.compile(r"^/clusters/[^/]+/node-groups/[^/]+/update-version$"), "UpdateNodegroupVersion"),
    ("GET", re.compile(r"^/clusters/[^/]+/updates/[^/]+$"), "DescribeUpdate"),
]


def eks_operation(request):
    """The EKS node group operation a request is (for the per-operation stats), or None."""
    for method, pattern, name in EKS_OPERATIONS:
        if request.method == method and pattern.match(request.path):
            return name
    return None


def service_of(request):
    m = SCOPE.search(request.headers.get("Authorization", ""))
    return m.group(1) if m else "unknown"


def ec2_error(code, message, status):
    """An error in EC2's own format (its query protocol answers `Response/Errors/Error`)."""
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
            f'<Message>{message}</Message></Error></Errors><RequestID>sandbox</RequestID></Response>')
    return Response(body, status=status, content_type="text/xml")


def fault_response(service):
    if Settings.throttle_rate and Settings.rng.random() < Settings.throttle_rate:
        count(f"{service}.throttled")
        if service == "ec2":
            # EC2 throttles with 503 RequestLimitExceeded.
            return ec2_error("RequestLimitExceeded", "Request limit exceeded.", 503)
        if service == "autoscaling":
            body = ('<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>'
                    '<Message>Rate exceeded</Message></Error><RequestId>sandbox</RequestId></ErrorResponse>')
            return Response(body, status=400, content_type="text/xml")
        return Response(json.dumps({"message": "Rate exceeded"}), status=429, content_type="application/json",
                        headers={"x-amzn-ErrorType": "ThrottlingException"})
    if Settings.error_rate and Settings.rng.random() < Settings.error_rate:
        count(f"{service}.server_error")
        if service == "ec2":
            return ec2_error("Unavailable", "The server is overloaded and can't handle the request.", 503)
        if service == "autoscaling":
            body = ('<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>'
                    '<Message>Service unavailable</Message></Error><RequestId>sandbox</RequestId></ErrorResponse>')
            return Response(body, status=503, content_type="text/xml")
        return Response(json.dumps({"message": "Service unavailable"}), status=503, content_type="application/json",
                        headers={"x-amzn-ErrorType": "ServiceUnavailableException"})
    return None


def malformed_answer(app, environ):
    """moto's answer with a value of the wrong type in it: diskSize as a string, as moto's own
    default once was (the SDKs refuse it)."""
    answer = Response.from_app(app, environ)
    try:
        body = json.loads(answer.get_data(as_text=True))
    except ValueError:
        return answer
    if isinstance(body.get("nodegroup"), dict):
        body["nodegroup"]["diskSize"] = str(body["nodegroup"].get("diskSize") or 20)
    answer.set_data(json.dumps(body))
    return answer


def control(request, eks_backend_for):
    path = request.path[len("/_sandbox/"):]
    body = request.get_json(silent=True) or {}
    with LOCK:
        if path == "faults" and request.method == "POST":
            Settings.throttle_rate = float(body.get("throttle_rate", 0))
            Settings.error_rate = float(body.get("error_rate", 0))
            Settings.latency_ms = int(body.get("latency_ms", 0))
            Settings.services = body.get("services")
            Settings.operations = body.get("operations")
        elif path == "faults" and request.method == "DELETE":
            Settings.clear_faults()
        elif path == "malformed":
            # The next `count` answers of an EKS operation carry diskSize as a string.
            Settings.malformed[body["operation"]] = int(body.get("count", 1))
        elif path == "stats":
            return Response(json.dumps(Settings.stats), content_type="application/json")
        elif path == "lifecycle" and "nodegroup" in body:
            describes = int(body.get("describes", 2))
            Settings.lifecycle_for[(body["cluster"], body["nodegroup"])] = describes
            # A group already on its way (CREATING, UPDATING, DELETING) gets there as soon.
            cluster = eks_backend_for().clusters.get(body["cluster"])
            ng = cluster.nodegroups.get(body["nodegroup"]) if cluster is not None else None
            if ng is not None and getattr(ng, "_phase", None) is not None:
                ng._remaining = min(ng._remaining, describes)
        elif path == "lifecycle":
            describes = int(body.get("describes", 2))
            Settings.lifecycle_describes = describes
            # Groups on their way that follow the global setting get there as soon.
            for cluster in eks_backend_for().clusters.values():
                for ng in cluster.nodegroups.values():
                    if getattr(ng, "_phase", None) is not None and \
                            (cluster.name, ng.nodegroup_name) not in Settings.lifecycle_for:
                        ng._remaining = min(ng._remaining, describes)
        elif path == "autoscaler":
            ng = eks_backend_for().clusters[body["cluster"]].nodegroups[body["nodegroup"]]
            ng.scaling_config = {**ng.scaling_config, "desiredSize": int(body["desired"])}
            _size_asg(ng)
        elif path == "launch-template":
            # The launch template node groups can name (EKS checks that it exists).
            b = eks_backend_for()
            t = _launch_template(b.account_id, b.region_name)
            return Response(json.dumps({"id": t.id, "name": t.name}), content_type="application/json")
        elif path == "fail-next-update":
            Settings.fail_next_update[(body["cluster"], body["nodegroup"])] = body
        elif path == "fail-next-create":
            Settings.fail_next_create[(body["cluster"], body["nodegroup"])] = body
        elif path == "reset":
            from moto.core.models import base_decorator  # noqa: F401
            import moto.backends
            for _, backend in moto.backends.loaded_backends():
                for _, region_backends in backend.items():
                    for b in region_backends.values():
                        b.reset()
            Settings.clear_faults()
            Settings.stats = {}
        else:
            return Response(json.dumps({"error": f"unknown control {request.method} {path}"}), status=404)
    return Response(json.dumps({"ok": True}), content_type="application/json")


# ---------------------------------------------------------------- presigned GetCallerIdentity
# What EKS does with an IAM authentication token: it sends the presigned STS GetCallerIdentity
# request inside it to STS, which checks the signature and answers with the caller's identity.
# moto answers GetCallerIdentity for any caller without checking a signature, so the sandbox
# verifies presigned ones itself: against the secret of a static key it was told about
# (--static-credentials), of an IAM user's access key, or of a session STS issued (AssumeRole,
# AssumeRoleWithWebIdentity; its session token must come along and it must not have expired),
# within the request's validity. Everything else about GetCallerIdentity stays moto's.

STATIC_CREDENTIALS = {"testing": "testing"}  # access key ID -> secret
# STS accepts a presigned GetCallerIdentity for 15 minutes from its signing time, whatever its
# X-Amz-Expires says (`aws eks get-token` presigns for 60 s; the token lasts 15 minutes).
PRESIGNED_MAX_AGE_SECS = 900
PRESIGNED_MAX_FUTURE_SECS = 300
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _sts_error(status, code, message):
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id()}</RequestId>"
        "</ErrorResponse>"
    )
    count(f"sts.presigned.{code}")
    return Response(body, status=status, content_type="text/xml")


def _session_for(access_key_id):
    """(secret, session token or None, identity) of an access key the sandbox knows, else None."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends
    import datetime
    for account in list(sts_backends.keys()):
        for partition in list(sts_backends[account].keys()):
            for role in sts_backends[account][partition].assumed_roles:
                if role.access_key_id == access_key_id:
                    expired = role.expiration.replace(tzinfo=None) < datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
                    return role.secret_access_key, role.session_token, expired, (role.user_id, role.arn, role.account_id)
    for account in list(iam_backends.keys()):
        for partition in list(iam_backends[account].keys()):
            backend = iam_backends[account][partition]
            for user in list(backend.users.values()):
                for key in user.access_keys:
                    if key.access_key_id == access_key_id and key.status == "Active":
                        return key.secret_access_key, None, False, (user.id, user.arn, user.account_id)
    if access_key_id in STATIC_CREDENTIALS:
        return STATIC_CREDENTIALS[access_key_id], None, False, (
            "AKIAIOSFODNN7EXAMPLE", "arn:aws:sts::123456789012:user/moto", "123456789012")
    return None


def _uri_encode(s):
    from urllib.parse import quote
    return quote(s, safe="-_.~")


def _sigv4_signature(secret, method, host_headers, path, params, payload_hash, date, scope):
    import hashlib
    import hmac
    query = "&".join(f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in
                     sorted((k, v) for k, v in params if k != "X-Amz-Signature"))
    names = sorted(host_headers)
    canonical_headers = "".join(f"{n}:{' '.join(host_headers[n].strip().split())}\n" for n in names)
    canonical = "\n".join([method, path or "/", query, canonical_headers, ";".join(names), payload_hash])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", date, "/".join(scope),
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def presigned_caller_identity(request):
    """The answer to a presigned GetCallerIdentity, or None for any other request."""
    import datetime
    import hmac
    from urllib.parse import parse_qsl
    params = parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True)
    p = dict(params)
    if p.get("Action") != "GetCallerIdentity" or "X-Amz-Signature" not in p:
        return None
    count("sts.presigned.requests")
    scope = p.get("X-Amz-Credential", "").split("/")
    if len(scope) != 5 or scope[3] != "sts" or scope[4] != "aws4_request":
        return _sts_error(400, "IncompleteSignature", "Malformed X-Amz-Credential")
    date = p.get("X-Amz-Date", "")
    try:
        signed_at = datetime.datetime.strptime(date, "%Y%m%dT%H%M%SZ")
        expires = int(p.get("X-Amz-Expires", ""))
    except ValueError:
        return _sts_error(400, "IncompleteSignature", "Malformed X-Amz-Date or X-Amz-Expires")
    age = (datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - signed_at).total_seconds()
    if not 1 <= expires <= 604800 or age > PRESIGNED_MAX_AGE_SECS:
        return _sts_error(403, "AccessDenied", "Request has expired")
    if age < -PRESIGNED_MAX_FUTURE_SECS:
        return _sts_error(403, "SignatureDoesNotMatch", "Signature not yet current")
    with LOCK:
        known = _session_for(scope[0])
    if known is None:
        return _sts_error(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    secret, session_token, expired, identity = known
    if session_token is not None and p.get("X-Amz-Security-Token") != session_token:
        return _sts_error(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    if expired:
        return _sts_error(403, "ExpiredToken", "The security token included in the request is expired")
    signed = p.get("X-Amz-SignedHeaders", "").split(";")
    headers = {}
    for name in signed:
        value = request.headers.get(name)
        if value is None:
            return _sts_error(403, "SignatureDoesNotMatch", f"Signed header {name} is missing")
        headers[name] = value
    for payload_hash in (UNSIGNED_PAYLOAD, EMPTY_SHA256):
        expected = _sigv4_signature(secret, request.method, headers, request.path, params,
                                    payload_hash, date, scope[1:])
        if hmac.compare_digest(expected, p["X-Amz-Signature"].lower()):
            break
    else:
        return _sts_error(403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you provided.")
    count("sts.presigned.verified")
    user_id, arn, account = identity
    if "json" in request.headers.get("Accept", ""):
        return Response(json.dumps({"GetCallerIdentityResponse": {"GetCallerIdentityResult": {
            "Arn": arn, "UserId": user_id, "Account": account}, "ResponseMetadata": {
            "RequestId": request_id()}}}), content_type="application/json")
    body = (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
        f"<Arn>{arn}</Arn><UserId>{user_id}</UserId><Account>{account}</Account></GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{request_id()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    )
    return Response(body, content_type="text/xml")


class SandboxApp:
    def __init__(self, account_id="123456789012", region="eu-central-1"):
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.account_id = account_id
        self.region = region

    def eks_backend(self):
        from moto.eks.models import eks_backends
        return eks_backends[self.account_id][self.region]

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path.startswith("/_sandbox/"):
            return control(request, self.eks_backend)(environ, start_response)
        if request.method == "GET" and "X-Amz-Signature" in request.args:
            answer = presigned_caller_identity(request)
            if answer is not None:
                return answer(environ, start_response)
        service = service_of(request)
        count(f"{service}.requests")
        if service == "unknown" and request.method == "POST":
            # Unsigned calls (AssumeRoleWithWebIdentity, AssumeRoleWithSAML) are counted by action;
            # the body is read once and handed on to moto unchanged.
            import io
            data = request.get_data(cache=True)
            environ["wsgi.input"] = io.BytesIO(data)
            environ["CONTENT_LENGTH"] = str(len(data))
            m = re.search(rb"(?:^|&)Action=(AssumeRoleWith[A-Za-z]+)(?:&|$)", data)
            if m:
                count(f"sts.{m.group(1).decode()}")
        op = eks_operation(request) if service == "eks" else None
        if op:
            count(f"eks.{op}")
        if (Settings.services is None or service in Settings.services) and \
                (Settings.operations is None or op in Settings.operations):
            if Settings.latency_ms:
                time.sleep(Settings.latency_ms / 1000)
            fault = fault_response(service)
            if fault is not None:
                return fault(environ, start_response)
        with LOCK:
            malformed = Settings.malformed.get(op, 0) > 0
            if malformed:
                Settings.malformed[op] -= 1
        if malformed:
            count(f"eks.{op}.malformed")
            return malformed_answer(self.moto, environ)(environ, start_response)
        return self.moto(environ, start_response)


def make_ca():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import base64
    import datetime
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


CA_DATA = ""


def main():
    global CA_DATA
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifecycle-describes", type=int, default=2)
    ap.add_argument("--cluster-endpoint")
    ap.add_argument("--cluster-ca-file", help="PEM file whose base64 becomes the clusters' certificateAuthority.data")
    ap.add_argument("--seed", type=int, default=0,
                    help="seeds fault injection and moto's identifiers: a sandbox restarted with the same seed "
                         "and seeded in the same order has the same VPC, subnet and role IDs")
    ap.add_argument("--static-credentials", action="append", metavar="ID:SECRET",
                    help="an access key (beside IAM users' keys and STS sessions) whose presigned "
                         "GetCallerIdentity requests verify; repeatable (default testing:testing)")
    ap.add_argument("--log")
    a = ap.parse_args()
    if a.static_credentials:
        STATIC_CREDENTIALS.clear()
        for pair in a.static_credentials:
            key_id, _, secret = pair.partition(":")
            if not key_id or not secret:
                sys.exit(f"--static-credentials {pair!r}: expected ID:SECRET")
            STATIC_CREDENTIALS[key_id] = secret
    if a.host != "127.0.0.1":
        sys.exit("the sandbox binds 127.0.0.1 only")
    if a.log:
        fd = os.open(a.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
    Settings.lifecycle_describes = a.lifecycle_describes
    Settings.cluster_endpoint = a.cluster_endpoint
    Settings.rng = random.Random(a.seed)
    mock_random.seed(a.seed)
    if a.cluster_ca_file:
        import base64
        with open(a.cluster_ca_file, "rb") as f:
            CA_DATA = base64.b64encode(f.read()).decode()
    else:
        CA_DATA = make_ca()
    server = make_server(a.host, a.port, SandboxApp(), threaded=True)
    print(f"SANDBOX_READY http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
