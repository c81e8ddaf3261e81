//! `use = egg:Dist#name`: a fixed registry of paste entry points.
//!
//! Python resolves `egg:` through installed distributions' entry points.
//! fjord never imports Python code, so it carries the entry points of the
//! distributions real `api-paste.ini` files name (Paste, oslo.middleware,
//! keystone, osprofiler, swift); applications may add their own with
//! [`EggRegistry::insert`].

/// One entry point: distribution, group (`paste.filter_factory`, ...),
/// name and the `module:attr` it points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EggEntry {
    /// Distribution name, normalized (`oslo-middleware`).
    pub dist: String,
    /// Entry point group.
    pub group: String,
    /// Entry point name.
    pub name: String,
    /// `module:attr` target.
    pub target: String,
}

/// Entry points by distribution.
#[derive(Clone, Debug)]
pub struct EggRegistry {
    entries: Vec<EggEntry>,
}

/// PEP 503 normalization: lower-case, runs of `-_.` become `-`.
pub fn normalize_dist(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

const APP: &str = "paste.app_factory";
const FILTER: &str = "paste.filter_factory";

const SWIFT_FILTERS: &[(&str, &str)] = &[
    ("account_quotas", "account_quotas:filter_factory"),
    ("backend_ratelimit", "backend_ratelimit:filter_factory"),
    ("bulk", "bulk:filter_factory"),
    ("catch_errors", "catch_errors:filter_factory"),
    ("cname_lookup", "cname_lookup:filter_factory"),
    ("container_quotas", "container_quotas:filter_factory"),
    ("container_sync", "container_sync:filter_factory"),
    ("copy", "copy:filter_factory"),
    ("dlo", "dlo:filter_factory"),
    ("domain_remap", "domain_remap:filter_factory"),
    ("encryption", "crypto:filter_factory"),
    ("etag_quoter", "etag_quoter:filter_factory"),
    ("formpost", "formpost:filter_factory"),
    ("gatekeeper", "gatekeeper:filter_factory"),
    ("healthcheck", "healthcheck:filter_factory"),
    ("keymaster", "crypto.keymaster:filter_factory"),
    ("keystoneauth", "keystoneauth:filter_factory"),
    ("kmip_keymaster", "crypto.kmip_keymaster:filter_factory"),
    ("kms_keymaster", "crypto.kms_keymaster:filter_factory"),
    ("list_endpoints", "list_endpoints:filter_factory"),
    ("listing_formats", "listing_formats:filter_factory"),
    ("memcache", "memcache:filter_factory"),
    ("name_check", "name_check:filter_factory"),
    ("proxy_logging", "proxy_logging:filter_factory"),
    ("ratelimit", "ratelimit:filter_factory"),
    ("read_only", "read_only:filter_factory"),
    ("recon", "recon:filter_factory"),
    ("s3api", "s3api.s3api:filter_factory"),
    ("s3token", "s3api.s3token:filter_factory"),
    ("slo", "slo:filter_factory"),
    ("staticweb", "staticweb:filter_factory"),
    ("symlink", "symlink:filter_factory"),
    ("tempauth", "tempauth:filter_factory"),
    ("tempurl", "tempurl:filter_factory"),
    ("versioned_writes", "versioned_writes:filter_factory"),
    ("xprofile", "xprofile:filter_factory"),
];

impl Default for EggRegistry {
    /// The built-in entry points (Paste, oslo.middleware 8.2.0, keystone
    /// 2018, osprofiler, swift).
    fn default() -> Self {
        let mut r = EggRegistry::empty();
        r.insert(
            "Paste",
            "paste.composite_factory",
            "urlmap",
            "paste.urlmap:urlmap_factory",
        );
        r.insert(
            "Paste",
            "paste.composite_factory",
            "cascade",
            "paste.cascade:make_cascade",
        );
        r.insert(
            "Paste",
            "paste.server_runner",
            "http",
            "paste.httpserver:server_runner",
        );
        r.insert("Paste", APP, "cgi", "paste.cgiapp:make_cgi_application");
        r.insert("Paste", APP, "static", "paste.urlparser:make_static");
        r.insert(
            "Paste",
            "paste.filter_app_factory",
            "error_catcher",
            "paste.exceptions.errormiddleware:make_error_middleware",
        );
        r.insert(
            "Paste",
            "paste.filter_app_factory",
            "gzip",
            "paste.gzipper:make_gzip_middleware",
        );
        let om = "oslo.middleware";
        r.insert(
            om,
            APP,
            "healthcheck",
            "oslo_middleware:Healthcheck.app_factory",
        );
        for (name, target) in [
            ("basic_auth", "oslo_middleware:BasicAuthMiddleware.factory"),
            ("catch_errors", "oslo_middleware:CatchErrors.factory"),
            ("correlation_id", "oslo_middleware:CorrelationId.factory"),
            ("cors", "oslo_middleware:CORS.factory"),
            ("debug", "oslo_middleware:Debug.factory"),
            (
                "http_proxy_to_wsgi",
                "oslo_middleware:HTTPProxyToWSGI.factory",
            ),
            ("request_id", "oslo_middleware:RequestId.factory"),
            (
                "sizelimit",
                "oslo_middleware:RequestBodySizeLimiter.factory",
            ),
            ("tracing", "oslo_middleware:Tracing.factory"),
        ] {
            r.insert(om, FILTER, name, target);
        }
        for (name, target) in [
            (
                "admin_service",
                "keystone.version.service:admin_app_factory",
            ),
            (
                "admin_version_service",
                "keystone.version.service:admin_version_app_factory",
            ),
            (
                "public_service",
                "keystone.version.service:public_app_factory",
            ),
            (
                "public_version_service",
                "keystone.version.service:public_version_app_factory",
            ),
            ("service_v3", "keystone.version.service:v3_app_factory"),
        ] {
            r.insert("keystone", APP, name, target);
        }
        for (name, target) in [
            (
                "build_auth_context",
                "keystone.middleware:AuthContextMiddleware.factory",
            ),
            ("ec2_extension", "keystone.contrib.ec2:Ec2Extension.factory"),
            (
                "ec2_extension_v3",
                "keystone.contrib.ec2:Ec2ExtensionV3.factory",
            ),
            (
                "json_body",
                "keystone.middleware:JsonBodyMiddleware.factory",
            ),
            ("s3_extension", "keystone.contrib.s3:S3Extension.factory"),
            (
                "token_auth",
                "keystone.middleware:TokenAuthMiddleware.factory",
            ),
            (
                "url_normalize",
                "keystone.middleware:NormalizingFilter.factory",
            ),
        ] {
            r.insert("keystone", FILTER, name, target);
        }
        r.insert(
            "osprofiler",
            FILTER,
            "osprofiler",
            "osprofiler.web:WsgiMiddleware.factory",
        );
        r.insert("swift", APP, "proxy", "swift.proxy.server:app_factory");
        r.insert("swift", APP, "object", "swift.obj.server:app_factory");
        r.insert("swift", APP, "account", "swift.account.server:app_factory");
        r.insert(
            "swift",
            APP,
            "container",
            "swift.container.server:app_factory",
        );
        for (name, target) in SWIFT_FILTERS {
            r.insert(
                "swift",
                FILTER,
                name,
                &format!("swift.common.middleware.{target}"),
            );
        }
        r
    }
}

impl EggRegistry {
    /// A registry without entries.
    pub fn empty() -> Self {
        EggRegistry {
            entries: Vec::new(),
        }
    }

    /// Adds (or replaces) the entry point `group`/`name` of `dist`.
    pub fn insert(&mut self, dist: &str, group: &str, name: &str, target: &str) {
        let dist = normalize_dist(dist);
        self.entries
            .retain(|e| !(e.dist == dist && e.group == group && e.name == name));
        self.entries.push(EggEntry {
            dist,
            group: group.to_owned(),
            name: name.to_owned(),
            target: target.to_owned(),
        });
    }

    /// Whether any entry point of `dist` is known.
    pub fn has_dist(&self, dist: &str) -> bool {
        let dist = normalize_dist(dist);
        self.entries.iter().any(|e| e.dist == dist)
    }

    /// The entry point `group`/`name` of `dist`.
    pub fn find(&self, dist: &str, group: &str, name: &str) -> Option<&EggEntry> {
        let dist = normalize_dist(dist);
        self.entries
            .iter()
            .find(|e| e.dist == dist && e.group == group && e.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_and_lookup() {
        assert_eq!(normalize_dist("oslo.middleware"), "oslo-middleware");
        assert_eq!(normalize_dist("Oslo__Middleware"), "oslo-middleware");
        let r = EggRegistry::default();
        assert!(r.has_dist("paste"));
        assert_eq!(
            r.find("oslo_middleware", FILTER, "request_id")
                .map(|e| e.target.as_str()),
            Some("oslo_middleware:RequestId.factory")
        );
        assert!(r.find("Paste", APP, "urlmap").is_none());
    }
}
