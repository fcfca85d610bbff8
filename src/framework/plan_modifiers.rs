//! Attribute plan modifiers: declared on an attribute, run by the plan pipeline after defaults
//! and after computed attributes were marked unknown.

use crate::value::{AttributePath, Value};

use super::diagnostics::Diagnostics;

/// What a plan modifier sees of one attribute.
pub struct AttributePlanRequest<'a> {
    pub path: &'a AttributePath,
    /// The configuration value (null when not set).
    pub config: &'a Value,
    /// The value in prior state; null on create.
    pub state: &'a Value,
    /// True when the resource is being created (there is no prior state).
    pub creating: bool,
}

/// What a plan modifier may change.
pub struct AttributePlanResponse {
    /// The planned value so far; modifiers may replace it.
    pub plan: Value,
    pub requires_replace: bool,
    pub diagnostics: Diagnostics,
}

/// A rule that adjusts an attribute's planned value.
pub trait PlanModifier: Send + Sync {
    /// Markdown shown in the docs.
    fn description(&self) -> String;
    fn modify(&self, req: &AttributePlanRequest<'_>, resp: &mut AttributePlanResponse);
    /// Whether a change of the attribute always replaces the resource.
    fn requires_replace(&self) -> bool {
        false
    }
}

/// Changing the attribute destroys and re-creates the resource.
pub struct RequiresReplace;

impl PlanModifier for RequiresReplace {
    fn description(&self) -> String {
        "Changing this forces a new resource.".to_string()
    }
    fn requires_replace(&self) -> bool {
        true
    }
    fn modify(&self, req: &AttributePlanRequest<'_>, resp: &mut AttributePlanResponse) {
        if req.creating {
            return;
        }
        // An unknown plan may turn out equal to state; core asks again once it is known, so
        // only a real difference (or a config-driven unknown) is flagged.
        if resp.plan != *req.state && !(resp.plan.is_unknown() && req.config.is_null()) {
            resp.requires_replace = true;
        }
    }
}

/// Like [`RequiresReplace`], but only when `predicate(state, plan)` says so.
pub struct RequiresReplaceIf {
    pub predicate: fn(&Value, &Value) -> bool,
    pub description: &'static str,
}

impl PlanModifier for RequiresReplaceIf {
    fn description(&self) -> String {
        self.description.to_string()
    }
    fn modify(&self, req: &AttributePlanRequest<'_>, resp: &mut AttributePlanResponse) {
        if req.creating || resp.plan == *req.state {
            return;
        }
        if (self.predicate)(req.state, &resp.plan) {
            resp.requires_replace = true;
        }
    }
}

/// A computed value that does not change once known: keep the prior value instead of
/// showing "(known after apply)" on every update.
pub struct UseStateForUnknown;

impl PlanModifier for UseStateForUnknown {
    fn description(&self) -> String {
        "The value does not change after creation.".to_string()
    }
    fn modify(&self, req: &AttributePlanRequest<'_>, resp: &mut AttributePlanResponse) {
        if req.creating || req.state.is_null() || !req.config.is_null() {
            return;
        }
        if resp.plan.is_unknown() {
            resp.plan = req.state.clone();
        }
    }
}
