import pytest

import label_studio_templates
from backend.label_config import LabelConfigError, MissingInputError, parse_generation_target

pytestmark = pytest.mark.unit

QA_WITH_CONTEXT = """<View>
  <Text name="passage" value="$context"/>
  <Text name="q" value="$question"/>
  <TextArea name="answer" toName="q"/>
</View>"""


def test_finds_textarea_its_object_and_context():
    target = parse_generation_target(QA_WITH_CONTEXT)
    assert (target.from_name, target.to_name, target.input_field) == ("answer", "q", "question")
    assert target.context_fields == ("context",)
    assert target.prompt({"context": "Paris is in France.", "question": "Where is Paris?"}) == (
        "context: Paris is in France.\nWhere is Paris?"
    )


@pytest.mark.parametrize("name", label_studio_templates.available())
def test_every_shipped_template_has_a_generation_target(name):
    target = parse_generation_target(label_studio_templates.load_template(name))
    for task in label_studio_templates.sample_tasks(name):
        assert target.prompt(task["data"])  # each sample task carries the field its template reads


def test_templates_cover_the_promised_task_types():
    assert {"question_answering", "summarization", "translation", "math_reasoning", "free_generation"} <= set(
        label_studio_templates.available()
    )


@pytest.mark.parametrize(
    "config, message",
    [
        ('<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="a"/></Choices></View>', "no <TextArea>"),
        ("", "empty"),
        ("<View><Text", "not valid XML"),
        ('<View><Header name="h" value="static"/><TextArea name="a" toName="h"/></View>', "holds no text"),
    ],
)
def test_unusable_configs_get_errors_naming_what_is_missing(config, message):
    with pytest.raises(LabelConfigError, match=message):
        parse_generation_target(config)


def test_choose_textarea_by_name():
    config = label_studio_templates.load_template("math_reasoning")
    assert parse_generation_target(config).from_name == "solution"
    assert parse_generation_target(config, target="answer").from_name == "answer"
    with pytest.raises(LabelConfigError, match="solution"):
        parse_generation_target(config, target="proof")


def test_missing_input_field_is_named():
    target = parse_generation_target(QA_WITH_CONTEXT)
    with pytest.raises(MissingInputError, match="question"):
        target.prompt({"context": "x"})


def test_oversized_input_is_truncated_not_rejected():
    target = parse_generation_target(QA_WITH_CONTEXT)
    assert len(target.prompt({"question": "x" * 10_000}, max_chars=100)) == 100


def test_result_round_trip():
    target = parse_generation_target(QA_WITH_CONTEXT)
    assert target.text_of([target.result("Paris")]) == "Paris"
    assert target.text_of([{"from_name": "other", "type": "textarea", "value": {"text": ["no"]}}]) is None
