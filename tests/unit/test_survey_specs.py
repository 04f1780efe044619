# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX material in docs/awx/ is what AWX accepts and what the roles take.

- Each survey (docs/awx/surveys/<playbook>.json) passes AWX's own survey spec validation (the
  rules of awx/api/views JobTemplateSurveySpec._validate_spec_data, re-implemented below), and its
  defaults pass AWX's launch-time answer validation (SurveyJobTemplateMixin._survey_element_validation).
- Every survey variable is an option of the role the playbook runs (meta/argument_specs.yml), with a
  type AWX can produce for it, choices the role accepts, and the role's own default. Booleans are
  never asked: a survey answers strings, and the string "false" is true in a Jinja test.
- Launching a job template of docs/awx/setup.yml with the survey's defaults gives extra vars that pass
  the role's argument spec (the check the role runs first).
- Questions left blank pass nothing, so they never hide an inventory value with "".
- The Alibaba Cloud credential type passes AWX's credential type schema, and what it injects is what
  crosshost.docker.route_table reads; the same for AWX's built-in Amazon Web Services credential.

The AWX functions here are also used by tests/integration/test_awx_runner.py to launch real jobs.
"""

from __future__ import annotations

import copy
import json
import os
import re

import pytest
import yaml

from ansible_collections.crosshost.docker.tests.unit import helpers

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX_DOCS = os.path.join(REPO, "docs", "awx")
SURVEYS = os.path.join(AWX_DOCS, "surveys")
# The playbook each survey belongs to, and the role that playbook runs.
# survey -> role; direct_route_drift is the nightly check-mode job of docs/day2.md
SCHEMES = {"direct_route": "direct_route", "direct_route_drift": "direct_route", "macvlan": "macvlan",
           "overlay": "overlay"}

# ------------------------------------------------------------------------------------------------
# AWX's rules (awx/main/constants.py, awx/api/views/__init__.py, awx/main/models/mixins.py)

SURVEY_TYPE_MAPPING = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                       "integer": int, "float": (float, int)}
TEXT_TYPES = ("text", "textarea", "password")


def spec_errors(spec):
    """AWX's validation of a survey spec POSTed to /api/v2/job_templates/N/survey_spec/ (the first
    error, as AWX answers with one), or [] when AWX accepts it."""
    for field, expect in (("name", str), ("description", str), ("spec", list)):
        if field not in spec:
            return ["Field '%s' is missing from survey spec." % field]
        if not isinstance(spec[field], expect):
            return ["Expected %s for field '%s', received %s type." % (expect.__name__, field, type(spec[field]).__name__)]
    if not spec["spec"]:
        return ["'spec' doesn't contain any items."]
    seen = set()
    for idx, item in enumerate(spec["spec"]):
        if not isinstance(item, dict):
            return ["Survey question %s is not a json object." % idx]
        for field in ("type", "question_name", "variable", "required"):
            if field not in item:
                return ["'%s' missing from survey question %s" % (field, idx)]
            want = bool if field == "required" else str
            if not isinstance(item[field], want):
                return ["'%s' in survey question %s expected to be %s." % (field, idx, "boolean" if want is bool else "string")]
        if item["variable"] in seen:
            return ["'variable' '%s' duplicated in survey question %s." % (item["variable"], idx)]
        seen.add(item["variable"])
        qtype = item["type"]
        if qtype not in SURVEY_TYPE_MAPPING:
            return ["'%s' in survey question %s is not one of '%s' allowed question types."
                    % (qtype, idx, ", ".join(SURVEY_TYPE_MAPPING))]
        if "default" in item and item["default"] != "" and not isinstance(item["default"], SURVEY_TYPE_MAPPING[qtype]):
            return ["Default value %s in survey question %s expected to be %s."
                    % (item["default"], idx, qtype if qtype in ("integer", "float") else "string")]
        for key in ("min", "max"):
            if key in item and item[key] is not None and not isinstance(item[key], int):
                return ["The %s limit in survey question %s expected to be integer." % (key, idx)]
        if qtype in ("multiselect", "multiplechoice"):
            if "choices" not in item:
                return ["Survey question %s of type %s must specify choices." % (idx, qtype)]
            if "default" in item:
                defaults = item["default"].splitlines() if isinstance(item["default"], str) else item["default"]
                if qtype == "multiplechoice" and len(defaults) > 1:
                    return ["Multiple Choice (Single Select) can only have one default value."]
                if any(d not in item["choices"] for d in defaults):
                    return ["Default choice must be answered from the choices listed."]
        if isinstance(item.get("default"), str) and item["default"].startswith("$encrypted$"):
            return ["$encrypted$ is a reserved keyword, may not be used for new default in position %s." % idx]
    return []


def _choices(item):
    choices = item.get("choices")
    if isinstance(choices, str):
        return [c for c in choices.splitlines() if c.strip()]
    return list(choices or [])


def element_errors(item, data):
    """AWX's validation of one survey answer (or default) at launch."""
    var, qtype = item["variable"], item["type"]
    if var not in data:
        return ["'%s' value missing" % var] if item["required"] else []
    value = data[var]
    errors = []
    if qtype in TEXT_TYPES:
        if not isinstance(value, str):
            return ["Value %s for '%s' expected to be a string." % (value, var)]
        if item.get("min") not in ("", None) and len(value) < int(item["min"]):
            errors.append("'%s' value %s is too small (length is %s must be at least %s)." % (var, value, len(value), item["min"]))
        if item.get("max") not in ("", None) and len(value) > int(item["max"]):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (var, value, item["max"]))
    elif qtype in ("integer", "float"):
        # AWX compares type() exactly: a bool (an int subclass) is no answer to a number question.
        if isinstance(value, bool) or not isinstance(value, (int, float) if qtype == "float" else int):
            return ["Value %s for '%s' expected to be %s." % (value, var, "an integer" if qtype == "integer" else "a numeric type")]
        if item.get("min") not in ("", None) and value < item["min"]:
            errors.append("'%s' value %s is too small (must be at least %s)." % (var, value, item["min"]))
        if item.get("max") not in ("", None) and value > item["max"]:
            errors.append("'%s' value %s is too large (must be no more than %s)." % (var, value, item["max"]))
    elif qtype == "multiselect":
        if not isinstance(value, list):
            return ["'%s' value is expected to be a list." % var]
        errors += ["Value %s for '%s' expected to be one of %s." % (v, var, _choices(item)) for v in value if v not in _choices(item)]
    elif qtype == "multiplechoice" and value not in _choices(item):
        errors.append("Value %s for '%s' expected to be one of %s." % (value, var, _choices(item)))
    return errors


def launch_extra_vars(spec, jt_extra_vars=None, answers=None):
    """The extra vars of a job launched from a job template with this survey: the template's
    variables, then the survey's defaults (those that pass validation), then the answers (AWX
    refuses the launch when one is invalid). A blank optional text question is passed as "" only
    when its minimum length is 0, as AWX's launch form does; other blank optional questions pass
    nothing."""
    answers = dict(answers or {})
    extra = copy.deepcopy(jt_extra_vars or {})
    for item in spec["spec"]:
        var = item["variable"]
        if var in answers:
            errors = element_errors(item, answers)
            if errors:
                raise ValueError("AWX refuses to launch: %s" % "; ".join(errors))
            continue
        if item.get("default") is not None and not element_errors(item, {var: item["default"]}):
            extra[var] = item["default"]
        elif item["type"] in ("text", "textarea") and not item["required"] and not item.get("min"):
            extra[var] = ""
        elif item["required"]:
            raise ValueError("AWX refuses to launch: '%s' value missing" % var)
    extra.update(answers)
    return extra


def awx_extravars_yaml(extra_vars, safe=None):
    """env/extravars as AWX writes it (awx/main/utils/safe_yaml.safe_dump): every string of a value
    that does not come unchanged from the job template's own variables is tagged !unsafe, so that
    Ansible never templates what a survey or a launch brought in."""

    class UnsafeDumper(yaml.SafeDumper):
        def represent_data(self, data):
            if isinstance(data, str):
                return self.represent_scalar("!unsafe", data)
            return super().represent_data(data)

    safe = safe or {}
    out = []
    for key, value in extra_vars.items():
        dumper = yaml.SafeDumper if key in safe and safe[key] == value else UnsafeDumper
        out.append(yaml.dump_all([{key: value}], None, Dumper=dumper, default_flow_style=False))
    return "".join(out)


# ------------------------------------------------------------------------------------------------
# The collection's side


def load_survey(name):
    with open(os.path.join(SURVEYS, name + ".json")) as f:
        return json.load(f)


def role_options(role):
    """The options of a role's main entry point, or None when the role does not exist (yet)."""
    path = os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return yaml.safe_load(f)["argument_specs"]["main"]["options"]


def setup_job_templates():
    with open(os.path.join(AWX_DOCS, "setup.yml")) as f:
        play = yaml.safe_load(f)[0]
    return play["vars"]["crosshost_awx_job_templates"]


def options_or_skip(role):
    options = role_options(role)
    if options is None:
        pytest.skip("roles/%s/meta/argument_specs.yml does not exist yet" % role)
    return options


# Which role option types each survey question type can feed. AWX answers text questions with
# strings, integer questions with ints, multiselect with a list of strings; nothing gives a bool.
COMPATIBLE = {"text": {"str"}, "textarea": {"str"}, "password": {"str"}, "multiplechoice": {"str"},
              "integer": {"int"}, "float": {"float"}, "multiselect": {"list"}}


def compatibility_errors(item, options):
    var = item["variable"]
    if var not in options:
        return ["%s is not an option of the role (meta/argument_specs.yml)" % var]
    opt = options[var]
    rtype = opt.get("type", "str")
    errors = []
    if rtype == "bool":
        return ["%s is a bool: AWX answers strings (\"false\" is true in Jinja); set it in the job template's "
                "variables as a YAML boolean instead of asking it" % var]
    if rtype not in COMPATIBLE[item["type"]]:
        errors.append("%s: a %s question gives %s, the role wants %s" % (var, item["type"], sorted(COMPATIBLE[item["type"]]), rtype))
    if item["type"] == "multiselect" and opt.get("elements", "str") != "str":
        errors.append("%s: multiselect gives strings, the role wants %s elements" % (var, opt.get("elements")))
    if "choices" in opt and item["type"] in ("multiplechoice", "multiselect"):
        extra = [c for c in _choices(item) if c not in opt["choices"]]
        if extra:
            errors.append("%s: choices %s are not in the role's choices %s" % (var, extra, opt["choices"]))
    if "choices" in opt and item["type"] not in ("multiplechoice", "multiselect"):
        errors.append("%s: the role takes only %s; ask it as multiplechoice" % (var, opt["choices"]))
    if "default" in item:
        if "default" not in opt:
            errors.append("%s: the survey has a default, the role has none" % var)
        elif item["default"] != opt["default"]:
            errors.append("%s: survey default %r, role default %r" % (var, item["default"], opt["default"]))
    return errors


def inventory_set_variables():
    """Role variables that the shipped inventories set: the example inventories under docs/examples
    and the lab's group vars (lab/lab.py). A survey default for one of them would silently beat
    that inventory (extra vars win)."""
    found = set()
    for root, _dirs, files in os.walk(os.path.join(REPO, "docs", "examples")):
        for name in files:
            if name.endswith((".yml", ".yaml")):
                with open(os.path.join(root, name)) as f:
                    found |= set(re.findall(r"^\s*((?:direct_route|macvlan|overlay)_[a-z_]+):", f.read(), re.M))
    lab = helpers.load_script("crosshost_lab", "lab", "lab.py")

    class Cfg:
        name, dir = "lab", "/nonexistent"

    found |= set(lab.group_vars(Cfg(), {"python": "python3", "config": {"vlans": []}}))
    return found


# ------------------------------------------------------------------------------------------------
# The re-implemented AWX rules catch what AWX catches (so a passing survey means something)

GOOD_ITEM = {"type": "text", "question_name": "q", "variable": "v", "required": False}


@pytest.mark.parametrize("spec, message", [
    ({"description": "", "spec": [GOOD_ITEM]}, "Field 'name' is missing"),
    ({"name": "n", "description": "", "spec": []}, "'spec' doesn't contain any items."),
    ({"name": "n", "description": "", "spec": [{**GOOD_ITEM, "required": "no"}]}, "'required' in survey question 0 expected to be boolean"),
    ({"name": "n", "description": "", "spec": [{k: v for k, v in GOOD_ITEM.items() if k != "variable"}]}, "'variable' missing"),
    ({"name": "n", "description": "", "spec": [GOOD_ITEM, GOOD_ITEM]}, "'variable' 'v' duplicated in survey question 1"),
    ({"name": "n", "description": "", "spec": [{**GOOD_ITEM, "type": "boolean"}]}, "is not one of"),
    ({"name": "n", "description": "", "spec": [{**GOOD_ITEM, "type": "integer", "default": "24"}]}, "expected to be integer"),
    ({"name": "n", "description": "", "spec": [{**GOOD_ITEM, "min": "1"}]}, "The min limit in survey question 0 expected to be integer"),
    ({"name": "n", "description": "", "spec": [{**GOOD_ITEM, "type": "multiplechoice"}]}, "must specify choices"),
    ({"name": "n", "description": "", "spec": [{**GOOD_ITEM, "type": "multiplechoice", "choices": ["a"], "default": "b"}]},
     "Default choice must be answered from the choices listed."),
    ({"name": "n", "description": "", "spec": [{**GOOD_ITEM, "type": "multiplechoice", "choices": ["a", "b"], "default": "a\nb"}]},
     "can only have one default value"),
])
def test_awx_rules_refuse_bad_specs(spec, message):
    errors = spec_errors(spec)
    assert errors and message in errors[0], errors


@pytest.mark.parametrize("item, value, message", [
    ({"type": "text", "min": 3}, "ab", "too small"),
    ({"type": "text", "max": 3}, "abcd", "too large"),
    ({"type": "text"}, 5, "expected to be a string"),
    ({"type": "integer", "min": 1, "max": 5}, 6, "too large"),
    ({"type": "integer"}, "5", "expected to be an integer"),
    ({"type": "integer"}, True, "expected to be an integer"),
    ({"type": "multiplechoice", "choices": ["linux", "aws"]}, "gcp", "expected to be one of"),
    ({"type": "multiplechoice", "choices": "linux\naws"}, "gcp", "expected to be one of"),
    ({"type": "multiselect", "choices": ["a"]}, "a", "expected to be a list"),
])
def test_awx_rules_refuse_bad_answers(item, value, message):
    item = {"variable": "v", "required": False, "question_name": "q", **item}
    errors = element_errors(item, {"v": value})
    assert errors and message in errors[0], errors


def test_launch_precedence_and_blanks():
    spec = {"name": "n", "description": "", "spec": [
        {"type": "integer", "question_name": "a", "variable": "a", "required": True, "default": 1, "min": 0, "max": 9},
        {"type": "text", "question_name": "b", "variable": "b", "required": False, "min": 1},
        {"type": "text", "question_name": "c", "variable": "c", "required": False, "min": 0},
        {"type": "multiplechoice", "question_name": "d", "variable": "d", "required": False, "choices": ["x", "y"]},
        {"type": "integer", "question_name": "e", "variable": "e", "required": False, "default": 99, "max": 9},
    ]}
    # Survey defaults beat the template's variables; a blank text question with min 0 passes "";
    # a default that fails validation is dropped, as AWX drops it.
    assert launch_extra_vars(spec, {"a": 5, "z": 1}) == {"a": 1, "c": "", "z": 1}
    assert launch_extra_vars(spec, {}, {"a": 7, "d": "y"}) == {"a": 7, "c": "", "d": "y"}
    with pytest.raises(ValueError, match="expected to be one of"):
        launch_extra_vars(spec, {}, {"d": "z"})
    spec["spec"][0].pop("default")
    with pytest.raises(ValueError, match="'a' value missing"):
        launch_extra_vars(spec)


def test_extravars_yaml_marks_launch_values_unsafe():
    from ansible.parsing.yaml.loader import AnsibleLoader

    text = awx_extravars_yaml({"tpl": {"k": "v"}, "ans": "{{ lookup('pipe', 'id') }}", "n": 5}, safe={"tpl": {"k": "v"}})
    assert "tpl:\n  k: v\n" in text and "!unsafe 'ans': !unsafe '{{ lookup(''pipe'', ''id'') }}'" in text
    assert AnsibleLoader(text).get_single_data() == {"tpl": {"k": "v"}, "ans": "{{ lookup('pipe', 'id') }}", "n": 5}


# ------------------------------------------------------------------------------------------------
# The surveys


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_survey_is_accepted_by_awx(name):
    spec = load_survey(name)
    assert spec_errors(spec) == []
    for item in spec["spec"]:
        assert item.get("question_description"), "%s: say what the question is for" % item["variable"]
        if "default" in item:
            assert element_errors(item, {item["variable"]: item["default"]}) == [], item


def test_every_scheme_playbook_has_a_survey():
    assert sorted(f[:-5] for f in os.listdir(SURVEYS) if f.endswith(".json")) == sorted(SCHEMES)


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_survey_variables_are_role_options_with_compatible_types(name):
    options = options_or_skip(SCHEMES[name])
    errors = [e for item in load_survey(name)["spec"] for e in compatibility_errors(item, options)]
    assert errors == []


@pytest.mark.parametrize("item, message", [
    ({"type": "text", "variable": "r_flag"}, "is a bool"),
    ({"type": "text", "variable": "r_missing"}, "is not an option"),
    ({"type": "text", "variable": "r_port"}, "the role wants int"),
    ({"type": "integer", "variable": "r_port", "default": 80}, "role default 5000"),
    ({"type": "multiplechoice", "variable": "r_provider", "choices": ["linux", "gcp"]}, "['gcp'] are not in"),
    ({"type": "text", "variable": "r_provider"}, "ask it as multiplechoice"),
])
def test_compatibility_check_catches_mismatches(item, message):
    options = {"r_flag": {"type": "bool"}, "r_port": {"type": "int", "default": 5000},
               "r_provider": {"type": "str", "choices": ["linux", "aws"]}}
    errors = compatibility_errors({"required": False, "question_name": "q", **item}, options)
    assert errors and message in errors[0], errors


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_blank_answers_pass_nothing(name):
    # AWX passes "" for a blank optional text question whose minimum length is 0; "" would then beat
    # the inventory's value (and "" is no valid router, route table or image).
    for item in load_survey(name)["spec"]:
        if item["type"] in TEXT_TYPES and not item["required"] and "default" not in item:
            assert item.get("min", 0) >= 1, "%s: set min >= 1 so that a blank answer is not passed" % item["variable"]
    extra = launch_extra_vars(load_survey(name))
    assert "" not in extra.values()


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_no_default_hides_an_inventory_value(name):
    inventory_vars = inventory_set_variables()
    assert {"direct_route_provider", "direct_route_pool", "direct_route_router"} <= inventory_vars  # the check sees them
    clash = [i["variable"] for i in load_survey(name)["spec"] if "default" in i and i["variable"] in inventory_vars]
    assert clash == [], "survey defaults are extra vars and would beat the inventory's value of %s" % clash


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_launch_with_survey_defaults_passes_the_role_argument_spec(name):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    options = options_or_skip(SCHEMES[name])
    template = next(t for t in setup_job_templates() if t.get("survey") == "surveys/%s.json" % name)
    assert template["playbook"] == name + ".yml"
    extra = launch_extra_vars(load_survey(name), template.get("extra_vars"))
    # Only what the job brings: inventory and role defaults fill the rest.
    spec = {k: {kk: vv for kk, vv in v.items() if kk not in ("description", "version_added")} for k, v in options.items()}
    result = ArgumentSpecValidator(spec).validate(extra)
    assert result.error_messages == []
    unknown = set(extra) - set(options)
    assert not unknown, "job template variables that the role does not know: %s" % sorted(unknown)


# ------------------------------------------------------------------------------------------------
# The example project and the setup playbook


def test_setup_playbook_references_exist():
    for template in setup_job_templates():
        assert os.path.exists(os.path.join(AWX_DOCS, "project", template["playbook"])), template["playbook"]
        if "survey" in template:
            assert os.path.exists(os.path.join(AWX_DOCS, template["survey"])), template["survey"]
    assert {t["playbook"][:-4] for t in setup_job_templates() if "survey" in t} == set(SCHEMES)


@pytest.mark.parametrize("name", sorted(f[:-4] for f in os.listdir(os.path.join(AWX_DOCS, "project")) if f.endswith(".yml")))
def test_project_playbooks_wrap_collection_playbooks(name):
    with open(os.path.join(AWX_DOCS, "project", name + ".yml")) as f:
        play = yaml.safe_load(f)
    assert [p["ansible.builtin.import_playbook"] for p in play] == ["crosshost.docker." + name]
    if not os.path.exists(os.path.join(REPO, "playbooks", name + ".yml")):
        pytest.skip("playbooks/%s.yml does not exist yet" % name)


# ------------------------------------------------------------------------------------------------
# Credentials

# awx/main/fields.py CredentialTypeInputField / CredentialTypeInjectorField (schemas).
INPUTS_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "required": {"type": "array", "items": {"type": "string"}},
        "fields": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["id", "label"],
            "properties": {
                "type": {"enum": ["string", "boolean"]}, "format": {"enum": ["ssh_private_key", "url"]},
                "choices": {"type": "array", "minItems": 1, "items": {"type": "string"}, "uniqueItems": True},
                "id": {"type": "string", "pattern": "^[a-zA-Z_]+[a-zA-Z0-9_]*$"}, "label": {"type": "string"},
                "help_text": {"type": "string"}, "multiline": {"type": "boolean"}, "secret": {"type": "boolean"},
                "ask_at_runtime": {"type": "boolean"}, "default": {}}}}}}
INJECTORS_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "file": {"type": "object", "patternProperties": {r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$": {"type": "string"}},
                 "additionalProperties": False},
        "env": {"type": "object", "patternProperties": {"^[a-zA-Z_]+[a-zA-Z0-9_]*$": {"type": "string", "pattern": "^[\x00-\x7F]*$"}},
                "additionalProperties": False},
        "extra_vars": {"type": "object"}}}


def load_alibaba():
    with open(os.path.join(AWX_DOCS, "credential_types", "alibaba_cloud.yml")) as f:
        return yaml.safe_load(f)


def inject_env(credential_type, inputs):
    """AWX's CredentialType.inject_credential for env injectors: a Jinja2 sandbox, fields without a
    value are absent from the namespace (and so render as "")."""
    from jinja2 import sandbox

    env = sandbox.ImmutableSandboxedEnvironment()
    namespace = {k: v for k, v in inputs.items() if v}
    return {k: env.from_string(t).render(**namespace) for k, t in credential_type["injectors"].get("env", {}).items()}


def test_alibaba_credential_type_is_valid_for_awx():
    import jsonschema
    from jinja2 import StrictUndefined, sandbox

    ct = load_alibaba()
    assert ct["kind"] == "cloud"
    jsonschema.validate(ct["inputs"], INPUTS_SCHEMA)
    jsonschema.validate(ct["injectors"], INJECTORS_SCHEMA)
    ids = [f["id"] for f in ct["inputs"]["fields"]]
    assert len(ids) == len(set(ids)) and "tower" not in ids
    assert set(ct["inputs"]["required"]) <= set(ids)
    assert [f["id"] for f in ct["inputs"]["fields"] if f.get("secret")] == ["access_key_secret"]
    # AWX renders every injector with all fields defined, to refuse typos.
    env = sandbox.ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for name, template in ct["injectors"]["env"].items():
        assert not name.startswith("ANSIBLE_")
        env.from_string(template).render({i: "EXAMPLE" for i in ids})


class FakeModule:
    """What route_table.backend_options needs of an AnsibleModule."""

    class Failed(Exception):
        pass

    def __init__(self, **params):
        self.params = dict(route_table_id="vtb-1", region=None, access_key=None, secret_key=None, session_token=None,
                           endpoint_url=None, retries=3, backoff=1.0, linux_table="main", max_routes=None)
        self.params.update(params)
        self.no_log_values = set()

    def fail_json(self, msg, **kwargs):
        raise self.Failed(msg)


@pytest.fixture
def clean_cloud_env(monkeypatch):
    from ansible_collections.crosshost.docker.plugins.modules import route_table

    for names in route_table.ENV.values():
        for vars_ in names.values():
            for name in vars_:
                monkeypatch.delenv(name, raising=False)
    return route_table


def test_alibaba_credential_feeds_route_table(clean_cloud_env, monkeypatch):
    route_table = clean_cloud_env
    env = inject_env(load_alibaba(), {"access_key_id": "LTAI-id", "access_key_secret": "s3cret", "region": "cn-zhangjiakou"})
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    module = FakeModule()
    opts = route_table.backend_options(module, "alicloud")
    assert (opts["access_key"], opts["secret_key"], opts["region"]) == ("LTAI-id", "s3cret", "cn-zhangjiakou")
    assert {"LTAI-id", "s3cret"} <= module.no_log_values  # masked in every result


def test_alibaba_credential_without_region_needs_one(clean_cloud_env, monkeypatch):
    route_table = clean_cloud_env
    env = inject_env(load_alibaba(), {"access_key_id": "LTAI-id", "access_key_secret": "s3cret"})
    assert env["ALICLOUD_REGION"] == ""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(FakeModule.Failed, match="region: required for provider alicloud"):
        route_table.backend_options(FakeModule(), "alicloud")
    assert route_table.backend_options(FakeModule(region="cn-zhangjiakou"), "alicloud")["secret_key"] == "s3cret"


def test_awx_aws_credential_feeds_route_table(clean_cloud_env, monkeypatch):
    # awx_plugins.credentials.injectors.aws: username, password and the optional security token.
    route_table = clean_cloud_env
    for name, value in {"AWS_ACCESS_KEY_ID": "AKIA-id", "AWS_SECRET_ACCESS_KEY": "s3cret",
                        "AWS_SECURITY_TOKEN": "tok", "AWS_SESSION_TOKEN": "tok"}.items():
        monkeypatch.setenv(name, value)
    opts = route_table.backend_options(FakeModule(region="eu-west-1"), "aws")
    assert (opts["access_key"], opts["secret_key"], opts["session_token"]) == ("AKIA-id", "s3cret", "tok")
    # The built-in type injects no region: the inventory or the survey gives direct_route_region.
    with pytest.raises(FakeModule.Failed, match="region: required for provider aws"):
        route_table.backend_options(FakeModule(), "aws")
