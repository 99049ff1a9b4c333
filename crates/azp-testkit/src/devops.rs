//! A loopback emulation of the Azure DevOps REST endpoints the migration
//! script calls, written from the documented shapes (REST API 7.1,
//! learn.microsoft.com/rest/api/azure/devops): service endpoints, pipeline
//! permissions, build definitions, Git items, task groups and release
//! definitions of one organisation and project.
//!
//! It checks what the real service checks and a careless client gets
//! wrong: a Basic PAT on every request, an `api-version` on every request,
//! the definition `revision` on update (409 when stale), unique endpoint
//! names in a project (409), and it never returns confidential endpoint
//! parameters (they come back as `null`, as the real API does). Every
//! request is recorded.

use std::collections::BTreeMap;

use base64::Engine as _;
use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use serde_json::{Value, json};

pub use crate::oidc_server::RecordedRequest;
use crate::serve::{Emulation, Reply};

/// Parameters the AWS endpoint types mark confidential.
const CONFIDENTIAL: &[&str] = &["password", "sessionToken"];

/// The organisation's state.
#[derive(Debug, Default)]
pub struct DevOpsState {
    /// The organisation's name (the first path segment).
    pub org: String,
    /// The project's name and id.
    pub project: (String, String),
    /// The PAT every request must carry.
    pub pat: String,
    /// Service endpoints by id.
    pub endpoints: BTreeMap<String, Value>,
    /// Pipeline permissions by endpoint id.
    pub permissions: BTreeMap<String, Value>,
    /// Build definitions by id.
    pub definitions: BTreeMap<u64, Value>,
    /// Release definitions by id.
    pub releases: BTreeMap<u64, Value>,
    /// Task groups by id.
    pub task_groups: BTreeMap<String, Value>,
    /// Files by (repository id, path).
    pub files: BTreeMap<(String, String), String>,
    /// Every request received.
    pub requests: Vec<RecordedRequest>,
}

/// The running emulation. Stops when dropped.
#[derive(Debug)]
pub struct DevOpsServer {
    server: Emulation<DevOpsState>,
}

impl DevOpsServer {
    /// Start with an organisation, a project and the PAT it accepts.
    #[must_use]
    pub fn start(org: &str, project: &str, project_id: &str, pat: &str) -> Self {
        let state = DevOpsState {
            org: org.to_owned(),
            project: (project.to_owned(), project_id.to_owned()),
            pat: pat.to_owned(),
            ..DevOpsState::default()
        };
        Self {
            server: Emulation::start(state, handle),
        }
    }

    /// The organisation URL, `http://127.0.0.1:{port}/{org}`.
    #[must_use]
    pub fn org_url(&self) -> String {
        format!("http://{}/{}", self.server.addr(), self.server.lock().org)
    }

    /// Change the state (add endpoints, definitions, files...).
    pub fn with<T>(&self, f: impl FnOnce(&mut DevOpsState) -> T) -> T {
        f(&mut self.server.lock())
    }

    /// Every request received so far.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.lock().requests.clone()
    }

    /// Requests that change something (not `GET`).
    #[must_use]
    pub fn writes(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
        .into()
}

fn error(status: u16, message: &str) -> Reply {
    json_reply(
        status,
        &json!({ "message": message, "typeKey": "EmulatedError" }),
    )
}

fn list(values: impl IntoIterator<Item = Value>) -> Reply {
    let value: Vec<Value> = values.into_iter().collect();
    json_reply(200, &json!({ "count": value.len(), "value": value }))
}

/// An endpoint as the API returns it: confidential parameters as null.
fn redacted(endpoint: &Value) -> Value {
    let mut e = endpoint.clone();
    if let Some(params) = e["authorization"]["parameters"].as_object_mut() {
        for key in CONFIDENTIAL {
            if params.contains_key(*key) {
                params.insert((*key).to_owned(), Value::Null);
            }
        }
    }
    e
}

fn decode_path(p: &str) -> String {
    url::form_urlencoded::parse(format!("x={p}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn handle(st: &mut DevOpsState, req: RecordedRequest) -> Reply {
    st.requests.push(req.clone());
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(":{}", st.pat))
    );
    if req.headers.get("authorization") != Some(&expected) {
        return error(
            401,
            "TF400813: The user is not authorized to access this resource.",
        );
    }
    let Some(version) = req.query.get("api-version") else {
        return error(400, "No api-version was supplied for the request.");
    };
    if req.path.contains("/pipelinePermissions/") && !version.contains("-preview") {
        return error(
            400,
            &format!(
                "VS403003: The requested version \"{version}\" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests."
            ),
        );
    }
    let segments: Vec<String> = req
        .path
        .trim_matches('/')
        .split('/')
        .map(decode_path)
        .collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (project, project_id) = st.project.clone();
    let org = st.org.clone();
    let in_project = |p: &str| p == project || p == project_id;
    let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
    match (req.method.as_str(), seg.as_slice()) {
        ("GET", [o, p, "_apis", "serviceendpoint", "endpoints"]) if *o == org && in_project(p) => {
            let ty = req.query.get("type").map(|t| decode_path(t));
            list(
                st.endpoints
                    .values()
                    .filter(|e| ty.as_deref().is_none_or(|t| e["type"].as_str() == Some(t)))
                    .map(redacted),
            )
        }
        ("POST", [o, "_apis", "serviceendpoint", "endpoints"]) if *o == org => {
            let name = body["name"].as_str().unwrap_or_default();
            if st.endpoints.values().any(|e| e["name"] == name) {
                return error(
                    409,
                    &format!("A service connection named {name} already exists."),
                );
            }
            let id = format!(
                "{:08x}-0000-4000-8000-{:012x}",
                st.endpoints.len() + 1,
                fastrand::u64(..1 << 48)
            );
            let mut e = body.clone();
            e["id"] = Value::from(id.clone());
            e["isReady"] = Value::from(true);
            st.endpoints.insert(id.clone(), e.clone());
            st.permissions.insert(
                id.clone(),
                json!({ "resource": { "type": "endpoint", "id": id }, "pipelines": [] }),
            );
            json_reply(200, &redacted(&e))
        }
        ("PUT", [o, "_apis", "serviceendpoint", "endpoints", id]) if *o == org => {
            let Some(existing) = st.endpoints.get(*id).cloned() else {
                return error(404, "The service connection does not exist.");
            };
            let name = body["name"].as_str().unwrap_or_default();
            if st
                .endpoints
                .iter()
                .any(|(k, e)| k != id && e["name"] == name)
            {
                return error(
                    409,
                    &format!("A service connection named {name} already exists."),
                );
            }
            let mut e = body.clone();
            // Confidential parameters sent as null keep their stored value.
            if let Some(params) = e["authorization"]["parameters"].as_object_mut() {
                for key in CONFIDENTIAL {
                    if params.get(*key).is_some_and(Value::is_null) {
                        params.insert(
                            (*key).to_owned(),
                            existing["authorization"]["parameters"][*key].clone(),
                        );
                    }
                }
            }
            st.endpoints.insert((*id).to_owned(), e.clone());
            json_reply(200, &redacted(&e))
        }
        ("DELETE", [o, "_apis", "serviceendpoint", "endpoints", id]) if *o == org => {
            st.endpoints.remove(*id);
            st.permissions.remove(*id);
            json_reply(204, &Value::Null)
        }
        (
            "GET",
            [
                o,
                p,
                "_apis",
                "pipelines",
                "pipelinePermissions",
                "endpoint",
                id,
            ],
        ) if *o == org && in_project(p) => match st.permissions.get(*id) {
            Some(v) => json_reply(200, v),
            None => error(404, "No such resource."),
        },
        (
            "PATCH",
            [
                o,
                p,
                "_apis",
                "pipelines",
                "pipelinePermissions",
                "endpoint",
                id,
            ],
        ) if *o == org && in_project(p) => {
            let Some(perm) = st.permissions.get_mut(*id) else {
                return error(404, "No such resource.");
            };
            if let Some(all) = body.get("allPipelines") {
                perm["allPipelines"] = all.clone();
            }
            for p in body["pipelines"].as_array().into_iter().flatten() {
                let list = perm["pipelines"].as_array_mut().expect("pipelines");
                list.retain(|x| x["id"] != p["id"]);
                list.push(p.clone());
            }
            json_reply(200, perm)
        }
        ("GET", [o, p, "_apis", "build", "definitions"]) if *o == org && in_project(p) => list(
            st.definitions
                .values()
                .map(|d| json!({ "id": d["id"], "name": d["name"], "revision": d["revision"] })),
        ),
        ("GET", [o, p, "_apis", "build", "definitions", id]) if *o == org && in_project(p) => {
            match id.parse::<u64>().ok().and_then(|i| st.definitions.get(&i)) {
                Some(d) => json_reply(200, d),
                None => error(404, "The definition does not exist."),
            }
        }
        ("PUT", [o, p, "_apis", "build", "definitions", id]) if *o == org && in_project(p) => {
            let Some(current) = id
                .parse::<u64>()
                .ok()
                .and_then(|i| st.definitions.get_mut(&i))
            else {
                return error(404, "The definition does not exist.");
            };
            if body["revision"] != current["revision"] {
                return error(
                    409,
                    "The definition has been updated by another client; get it again.",
                );
            }
            let mut d = body.clone();
            d["revision"] = Value::from(current["revision"].as_u64().unwrap_or(1) + 1);
            *current = d.clone();
            json_reply(200, &d)
        }
        ("GET", [o, p, "_apis", "git", "repositories", repo, "items"])
            if *o == org && in_project(p) =>
        {
            let path = req
                .query
                .get("path")
                .map(|p| decode_path(p))
                .unwrap_or_default();
            match st.files.get(&((*repo).to_owned(), path.clone())) {
                Some(content) => json_reply(200, &json!({ "path": path, "content": content })),
                None => error(
                    404,
                    &format!("TF401174: The item '{path}' could not be found."),
                ),
            }
        }
        ("GET", [o, p, "_apis", "distributedtask", "taskgroups"]) if *o == org && in_project(p) => {
            list(st.task_groups.values().cloned())
        }
        ("PUT", [o, p, "_apis", "distributedtask", "taskgroups", id])
            if *o == org && in_project(p) =>
        {
            let Some(current) = st.task_groups.get_mut(*id) else {
                return error(404, "The task group does not exist.");
            };
            let mut g = body.clone();
            g["revision"] = Value::from(current["revision"].as_u64().unwrap_or(1) + 1);
            *current = g.clone();
            json_reply(200, &g)
        }
        ("GET", [o, p, "_apis", "release", "definitions"]) if *o == org && in_project(p) => list(
            // The list carries no environments (workflow tasks) unless
            // `$expand=environments` asks for them.
            st.releases.values().map(|d| {
                if req
                    .query
                    .get("$expand")
                    .is_some_and(|e| e.contains("environments"))
                {
                    d.clone()
                } else {
                    json!({ "id": d["id"], "name": d["name"], "revision": d["revision"] })
                }
            }),
        ),
        ("GET", [o, p, "_apis", "release", "definitions", id]) if *o == org && in_project(p) => {
            match id.parse::<u64>().ok().and_then(|i| st.releases.get(&i)) {
                Some(d) => json_reply(200, d),
                None => error(404, "The release definition does not exist."),
            }
        }
        ("PUT", [o, p, "_apis", "release", "definitions"]) if *o == org && in_project(p) => {
            let id = body["id"].as_u64().unwrap_or_default();
            let Some(current) = st.releases.get_mut(&id) else {
                return error(404, "The release definition does not exist.");
            };
            if body["revision"] != current["revision"] {
                return error(
                    409,
                    "The release definition has been updated by another client.",
                );
            }
            let mut d = body.clone();
            d["revision"] = Value::from(current["revision"].as_u64().unwrap_or(1) + 1);
            *current = d.clone();
            json_reply(200, &d)
        }
        (method, _) => error(404, &format!("No route for {method} {}", req.path)),
    }
}
