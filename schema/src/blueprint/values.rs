//! The DaskHub Helm values, generated from the settings: the parts the seed kept in
//! dh-config.yaml (the build), dh-auth.yaml (Cognito login) and dh-secrets.yaml (API tokens); the
//! seed names those files but does not show their contents, so what goes in them follows the
//! chart's documented values. The non-secret part is rendered as YAML text (so a plan
//! shows a change as a diff); the secrets (API tokens, the Cognito client secret) form a
//! separate structured map that is only ever shown as "(sensitive)".

use serde_json::{json, Map, Value as J};

use super::build::r;
use super::placement;
use super::settings::{Settings, Tls};

pub(crate) const CLIENT: &str = "daskhub.auth.client";
pub(crate) const PROXY_TOKEN: &str = "daskhub.hub.proxy_token";
pub(crate) const GATEWAY_TOKEN: &str = "daskhub.hub.gateway_token";
/// The static PersistentVolume(Claim) on EFS that holds home directories.
pub(crate) const PVC: &str = "efs-persist";
/// The StorageClass of the hub database's volume (stack.rs makes it: gp3, EBS CSI, retained).
pub(crate) const HUB_DB_CLASS: &str = "gp3-retained";
/// The wait for the hub's ACM certificate: its `certificate_arn` is known only once it is ISSUED,
/// so the release that names it starts after that.
pub(crate) const CERTIFICATE_VALIDATION: &str = "daskhub.dns.certificate_validation";

/// `registry/name:tag` → (`registry/name`, `tag`).
pub(crate) fn split_image(image: &str) -> (String, String) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.into(), tag.into()),
        _ => (image.into(), "latest".into()),
    }
}

pub(crate) fn hub_host(s: &Settings) -> String {
    format!("{}.{}", s.record, s.hosted_zone)
}

/// `https://<host>` (`http://` only with `tls: none`).
pub(crate) fn hub_url(s: &Settings) -> String {
    format!("{}://{}", s.tls.scheme(), hub_host(s))
}

/// `jupyterhub.proxy`: the public service and how it serves HTTPS. With ACM, TLS ends at the
/// classic load balancer Kubernetes makes (z2jh's `offload`: the proxy serves plain HTTP
/// behind it, on the service's `https` port too); the annotations are the in-tree AWS cloud
/// provider's. With Let's Encrypt the chart's autohttps pod gets the certificate for the host.
fn proxy(s: &Settings) -> J {
    match &s.tls {
        Tls::Acm => json!({
            "https": { "enabled": true, "type": "offload" },
            "service": {
                "type": "LoadBalancer",
                "annotations": {
                    "service.beta.kubernetes.io/aws-load-balancer-ssl-cert":
                        r(CERTIFICATE_VALIDATION, "certificate_arn"),
                    "service.beta.kubernetes.io/aws-load-balancer-backend-protocol": "tcp",
                    "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": "https",
                    // idle websockets (kernels) stay connected for an hour, as z2jh advises
                    "service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout": "3600",
                },
            },
        }),
        Tls::LetsEncrypt { contact } => json!({
            "https": {
                "enabled": true,
                "type": "letsencrypt",
                "hosts": [hub_host(s)],
                "letsencrypt": { "contactEmail": contact },
            },
            "service": { "type": "LoadBalancer" },
        }),
        Tls::None => json!({ "service": { "type": "LoadBalancer" } }),
    }
}

pub(crate) fn cognito_host(s: &Settings, region: &str) -> Option<String> {
    s.cognito
        .as_ref()
        .map(|c| format!("{}.auth.{region}.amazoncognito.com", c.domain_prefix))
}

/// dh-config + dh-auth: everything but the secrets.
pub(crate) fn public(s: &Settings, region: &str) -> J {
    let (name, tag) = split_image(&s.image);
    let url = hub_url(s);
    let mut hub_config = Map::new();
    hub_config.insert(
        "Authenticator".into(),
        json!({ "admin_users": s.admin_users, "allow_all": true }),
    );
    match cognito_host(s, region) {
        Some(auth) => {
            hub_config.insert(
                "JupyterHub".into(),
                json!({ "authenticator_class": "generic-oauth" }),
            );
            hub_config.insert(
                "GenericOAuthenticator".into(),
                json!({
                    "client_id": r(CLIENT, "client_id"),
                    "oauth_callback_url": format!("{url}/hub/oauth_callback"),
                    "authorize_url": format!("https://{auth}/oauth2/authorize"),
                    "token_url": format!("https://{auth}/oauth2/token"),
                    "userdata_url": format!("https://{auth}/oauth2/userInfo"),
                    "logout_redirect_url": format!(
                        "https://{auth}/logout?client_id={}&logout_uri={url}",
                        r(CLIENT, "client_id")
                    ),
                    "login_service": "AWS Cognito",
                    "username_claim": "username",
                    "scope": ["openid", "email", "profile", "phone"],
                }),
            );
        }
        None => {
            hub_config.insert(
                "JupyterHub".into(),
                json!({ "authenticator_class": "dummy" }),
            );
        }
    }
    let mut v = json!({
        "jupyterhub": {
            "hub": {
                "config": J::Object(hub_config),
                // The claim outlives an uninstall (helm keeps it), so a release installed again
                // (after a run was stopped mid-install, or by hand) adopts the same claim and
                // volume instead of leaving the hub's database behind on a retained volume.
                "db": { "pvc": {
                    "storageClassName": HUB_DB_CLASS,
                    "annotations": { "helm.sh/resource-policy": "keep" },
                } },
            },
            "proxy": proxy(s),
            "singleuser": {
                "image": { "name": name, "tag": tag },
                "defaultUrl": "/lab",
                "startTimeout": 600,
                "storage": {
                    "type": "static",
                    "static": { "pvcName": PVC, "subPath": "home/{username}" },
                },
                "extraEnv": { "DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE": "{JUPYTER_IMAGE_SPEC}" },
            },
            "scheduling": {
                "userScheduler": { "enabled": true },
                "podPriority": { "enabled": true },
                "userPlaceholder": { "enabled": false },
                "corePods": { "nodeAffinity": { "matchNodePurpose": "require" } },
                "userPods": { "nodeAffinity": { "matchNodePurpose": "require" } },
            },
            "cull": { "enabled": true, "timeout": 3600, "every": 300 },
        },
        "dask-gateway": {
            "gateway": {
                "backend": { "image": { "name": name, "tag": tag } },
            },
        },
    });
    let singleuser = &mut v["jupyterhub"]["singleuser"];
    if let Some(p) = placement::profiles(s) {
        singleuser["profileList"] = p;
    }
    if let Some((bucket, _, _)) = &s.bucket {
        // The IRSA role of this account may use the shared bucket (stack.rs).
        singleuser["serviceAccountName"] = json!(placement::USER_ACCOUNT);
        singleuser["extraEnv"]["SHARED_BUCKET"] = json!(bucket);
    }
    let gateway = &mut v["dask-gateway"]["gateway"];
    if let Some((g, z)) = placement::burst(s) {
        let on_burst = json!({
            "nodeSelector": { placement::NODEGROUP_LABEL: g.name },
            "tolerations": placement::tolerations(g),
        });
        gateway["backend"]["scheduler"] = json!({ "extraPodConfig": on_burst.clone() });
        gateway["backend"]["worker"] = json!({ "extraPodConfig": on_burst });
        gateway["extraConfig"] =
            json!({ "hdh-cluster-options": placement::gateway_options(z, &s.image) });
    }
    if s.bucket.is_some() {
        gateway["backend"]["worker"]["extraPodConfig"]["serviceAccountName"] =
            json!(placement::USER_ACCOUNT);
    }
    if let Some(extra) = &s.extra_values {
        merge(&mut v, extra);
    }
    v
}

/// dh-secrets + the client secret of dh-auth.
pub(crate) fn secret(s: &Settings) -> J {
    let gateway = r(GATEWAY_TOKEN, "value");
    let mut v = json!({
        "jupyterhub": {
            "proxy": { "secretToken": r(PROXY_TOKEN, "value") },
            "hub": { "services": { "dask-gateway": { "apiToken": gateway } } },
        },
        "dask-gateway": { "gateway": { "auth": { "jupyterhub": { "apiToken": gateway } } } },
    });
    if s.cognito.is_some() {
        v["jupyterhub"]["hub"]["config"] =
            json!({ "GenericOAuthenticator": { "client_secret": r(CLIENT, "client_secret") } });
    }
    v
}

/// Deep merge: maps merge key by key, anything else is replaced.
pub(crate) fn merge(into: &mut J, from: &J) {
    match (into, from) {
        (J::Object(a), J::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(J::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_at_the_tag() {
        assert_eq!(
            split_image("reg:5000/a/b:1.2"),
            ("reg:5000/a/b".into(), "1.2".into())
        );
        assert_eq!(
            split_image("reg:5000/a/b"),
            ("reg:5000/a/b".into(), "latest".into())
        );
    }
}
