//! The deployment template's safety invariants, read from `template.yaml`:
//! the rules that keep messages safe and access narrow, which neither
//! `sam validate --lint` nor `cfn-lint` checks.

// Tests and their helpers fail by panicking. SQS's `.fifo` suffix is
// case-sensitive, so the lint against case-sensitive suffix checks is wrong here.
#![allow(clippy::panic, clippy::case_sensitive_file_extension_comparisons)]

use serde_yaml_ng::Value;
use serde_yaml_ng::value::TaggedValue;

const TEMPLATE: &str = include_str!("../../template.yaml");

fn template() -> Value {
    serde_yaml_ng::from_str(TEMPLATE).expect("template.yaml is YAML")
}

/// `value` at a `/`-separated path of mapping keys and sequence indices.
fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    path.split('/')
        .fold(value, |node, key| match key.parse::<usize>() {
            Ok(index) => &node[index],
            Err(_) => &node[key],
        })
}

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    at(template, "Resources")
        .as_mapping()
        .expect("a Resources mapping")
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .map(|(name, resource)| (name.as_str().expect("string names"), resource))
        .collect()
}

/// The intrinsic's name and inner value of a tagged node like `!Ref X`.
fn tagged(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let TaggedValue { tag, value } = tagged.as_ref();
            // Tags print with their leading `!`.
            Some((tag.to_string().trim_start_matches('!').to_owned(), value))
        }
        _ => None,
    }
}

fn refers_to(value: &Value, intrinsic: &str, target: &str) -> bool {
    tagged(value).is_some_and(|(tag, inner)| {
        tag == intrinsic
            && inner
                .as_str()
                .is_some_and(|text| text == target || text.starts_with(&format!("{target}.")))
    })
}

fn number(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("a number, found {value:?}"))
}

#[test]
fn both_functions_are_arm64_al2023_rust_builds_with_log_settings_in_globals() {
    let template = template();
    let globals = at(&template, "Globals/Function");

    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    assert!(globals["LoggingConfig"]["LogFormat"].is_string());
    assert!(!globals["LoggingConfig"]["ApplicationLogLevel"].is_null());
    let functions = resources_of_type(&template, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 2);
    for (name, function) in functions {
        assert_eq!(
            function["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{name}"
        );
        assert!(
            function["Properties"]["Runtime"].is_null(),
            "{name} must not override the runtime"
        );
    }
}

#[test]
fn the_consumer_reads_batches_of_10_and_reports_partial_failures() {
    let template = template();
    let event = at(
        &template,
        "Resources/ConsumerFunction/Properties/Events/InputQueue",
    );

    assert_eq!(event["Type"], "SQS");
    assert!(refers_to(
        &event["Properties"]["Queue"],
        "GetAtt",
        "InputQueue"
    ));
    assert_eq!(number(&event["Properties"]["BatchSize"]), 10);
    assert_eq!(
        event["Properties"]["FunctionResponseTypes"],
        serde_yaml_ng::from_str::<Value>("[ReportBatchItemFailures]").expect("YAML")
    );
    assert!(refers_to(
        &event["Properties"]["ScalingConfig"]["MaximumConcurrency"],
        "Ref",
        "ConsumerMaximumConcurrency"
    ));
}

#[test]
fn the_input_queue_is_fifo_encrypted_and_outlasts_six_consumer_timeouts() {
    let template = template();
    let queue = at(&template, "Resources/InputQueue/Properties");
    let timeout = number(at(
        &template,
        "Resources/ConsumerFunction/Properties/Timeout",
    ));

    let (_, name) = tagged(&queue["QueueName"]).expect("a !Sub name");
    assert!(
        name.as_str().is_some_and(|n| n.ends_with(".fifo")),
        "{name:?}"
    );
    assert_eq!(queue["FifoQueue"], true);
    assert_eq!(queue["ContentBasedDeduplication"], true);
    assert_eq!(queue["SqsManagedSseEnabled"], true);
    assert!(refers_to(
        &queue["VisibilityTimeout"],
        "Ref",
        "VisibilityTimeout"
    ));
    let parameter = at(&template, "Parameters/VisibilityTimeout");
    assert!(
        number(&parameter["MinValue"]) >= 6 * timeout,
        "even the smallest allowed value"
    );
    assert!(number(&parameter["Default"]) >= 6 * timeout);
    let redrive = &queue["RedrivePolicy"];
    assert!(refers_to(
        &redrive["deadLetterTargetArn"],
        "GetAtt",
        "DeadLetterQueue"
    ));
    assert!(refers_to(
        &redrive["maxReceiveCount"],
        "Ref",
        "MaxReceiveCount"
    ));
}

#[test]
fn the_dead_letter_queue_is_fifo_and_keeps_messages_for_14_days() {
    let template = template();
    let queue = at(&template, "Resources/DeadLetterQueue/Properties");

    assert_eq!(queue["FifoQueue"], true);
    assert_eq!(queue["SqsManagedSseEnabled"], true);
    assert_eq!(number(&queue["MessageRetentionPeriod"]), 14 * 24 * 3600);
    let (_, name) = tagged(&queue["QueueName"]).expect("a !Sub name");
    assert!(name.as_str().is_some_and(|n| n.ends_with(".fifo")));
}

#[test]
fn buckets_are_private_encrypted_versioned_and_tls_only() {
    let template = template();
    let buckets = resources_of_type(&template, "AWS::S3::Bucket");
    let policies = resources_of_type(&template, "AWS::S3::BucketPolicy");

    assert_eq!(buckets.len(), 2);
    for (name, bucket) in buckets {
        let properties = &bucket["Properties"];
        assert!(
            properties["BucketName"].is_null(),
            "{name}: CloudFormation names the bucket"
        );
        for block in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(
                properties["PublicAccessBlockConfiguration"][block], true,
                "{name} {block}"
            );
        }
        let encryption = at(
            properties,
            "BucketEncryption/ServerSideEncryptionConfiguration/0",
        );
        assert!(
            encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"].is_string(),
            "{name}"
        );
        assert_eq!(
            properties["VersioningConfiguration"]["Status"], "Enabled",
            "{name}"
        );

        let tls_only = policies.iter().any(|(_, policy)| {
            refers_to(&policy["Properties"]["Bucket"], "Ref", name)
                && policy["Properties"]["PolicyDocument"]["Statement"]
                    .as_sequence()
                    .is_some_and(|statements| {
                        statements.iter().any(|s| {
                            s["Effect"] == "Deny"
                                && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                        })
                    })
        });
        assert!(tls_only, "{name} must deny requests without TLS");
    }
}

#[test]
fn the_drain_routes_accept_iam_callers_only_and_health_is_public() {
    let template = template();
    let events = at(&template, "Resources/HttpFunction/Properties/Events");
    let route = |method: &str, path: &str| {
        events
            .as_mapping()
            .expect("events")
            .values()
            .find(|e| e["Properties"]["Method"] == method && e["Properties"]["Path"] == path)
            .unwrap_or_else(|| panic!("no {method} {path} route"))
    };

    assert_eq!(
        at(
            &template,
            "Resources/HttpApi/Properties/Auth/EnableIamAuthorizer"
        ),
        &Value::Bool(true)
    );
    assert_eq!(
        route("GET", "/")["Properties"]["Auth"]["Authorizer"],
        "AWS_IAM"
    );
    assert_eq!(
        route("HEAD", "/")["Properties"]["Auth"]["Authorizer"],
        "AWS_IAM"
    );
    assert!(route("HEAD", "/health")["Properties"]["Auth"].is_null());
    assert_eq!(
        route("POST", "/")["Properties"]["Auth"]["Authorizer"],
        "AWS_IAM"
    );
    assert!(route("GET", "/health")["Properties"]["Auth"].is_null());
    let throttling = at(
        &template,
        "Resources/HttpApi/Properties/DefaultRouteSettings",
    );
    assert!(number(&throttling["ThrottlingRateLimit"]) > 0);
    assert!(number(&throttling["ThrottlingBurstLimit"]) > 0);
}

/// Every `Allow` statement of every role, with its role's name.
fn allow_statements(template: &Value) -> Vec<(String, Value)> {
    resources_of_type(template, "AWS::IAM::Role")
        .into_iter()
        .flat_map(|(role, resource)| {
            resource["Properties"]["Policies"]
                .as_sequence()
                .into_iter()
                .flatten()
                .flat_map(|policy| {
                    policy["PolicyDocument"]["Statement"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                })
                .filter(|statement| statement["Effect"] == "Allow")
                .map(move |statement| (role.to_owned(), statement.clone()))
        })
        .collect()
}

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Sequence(items) => items.iter().collect(),
        other => vec![other],
    }
}

#[test]
fn no_role_allows_a_wildcard_action_or_resource() {
    let template = template();
    let statements = allow_statements(&template);

    assert!(statements.len() >= 8, "both roles have their statements");
    for (role, statement) in &statements {
        for action in as_list(&statement["Action"]) {
            let action = action.as_str().expect("actions are strings");
            assert!(!action.contains('*'), "{role} allows {action}");
        }
        for resource in as_list(&statement["Resource"]) {
            // Resources are this stack's own resources: a reference (a log
            // group's ARN ends in `:*`, its streams), or the objects of one of
            // its buckets (`${Bucket.Arn}/*`). Nothing literal, nothing wider.
            let (tag, inner) = tagged(resource)
                .unwrap_or_else(|| panic!("{role} allows a literal resource {resource:?}"));
            if tag == "Sub" {
                let text = inner.as_str().unwrap_or_default();
                let bucket = text
                    .strip_prefix("${")
                    .and_then(|rest| rest.strip_suffix(".Arn}/*"))
                    .unwrap_or_else(|| panic!("{role} allows {text}"));
                assert_eq!(
                    at(&template, &format!("Resources/{bucket}/Type")),
                    "AWS::S3::Bucket",
                    "{role}: {text}"
                );
            } else {
                assert_eq!(tag, "GetAtt", "{role}: {resource:?}");
            }
        }
    }
    for (name, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        assert!(
            function["Properties"]["Policies"].is_null(),
            "{name}: no SAM policy templates"
        );
        assert!(refers_to(
            &function["Properties"]["Role"],
            "GetAtt",
            &format!("{}Role", name.trim_end_matches("Function"))
        ));
    }
}

#[test]
fn the_roles_allow_what_each_function_needs() {
    let template = template();
    let actions_of = |role: &str| -> Vec<String> {
        allow_statements(&template)
            .into_iter()
            .filter(|(name, _)| name == role)
            .flat_map(|(_, statement)| {
                as_list(&statement["Action"])
                    .into_iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .collect()
    };

    let consumer = actions_of("ConsumerRole");
    for needed in [
        "s3:PutObject",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    ] {
        assert!(
            consumer.iter().any(|a| a == needed),
            "consumer lacks {needed}"
        );
    }
    let http = actions_of("HttpRole");
    for needed in [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "s3:PutObject",
        "s3:ListBucket",
    ] {
        assert!(http.iter().any(|a| a == needed), "http lacks {needed}");
    }
}

#[test]
fn alarms_watch_dead_letters_stuck_groups_and_consumer_failures() {
    let template = template();
    let alarm = |name: &str| at(&template, &format!("Resources/{name}/Properties")).clone();

    let dead_letters = alarm("DeadLetterQueueNotEmptyAlarm");
    assert_eq!(
        dead_letters["MetricName"],
        "ApproximateNumberOfMessagesVisible"
    );
    assert!(refers_to(
        &dead_letters["Dimensions"][0]["Value"],
        "GetAtt",
        "DeadLetterQueue"
    ));
    assert_eq!(number(&dead_letters["Threshold"]), 0);
    assert_eq!(dead_letters["ComparisonOperator"], "GreaterThanThreshold");

    let stuck = alarm("StuckGroupAlarm");
    assert_eq!(stuck["MetricName"], "ApproximateAgeOfOldestMessage");
    assert!(refers_to(
        &stuck["Dimensions"][0]["Value"],
        "GetAtt",
        "InputQueue"
    ));
    assert!(refers_to(
        &stuck["Threshold"],
        "Ref",
        "OldestMessageAgeThreshold"
    ));

    for (name, metric) in [
        ("ConsumerErrorsAlarm", "Errors"),
        ("ConsumerThrottlesAlarm", "Throttles"),
    ] {
        let consumer = alarm(name);
        assert_eq!(consumer["MetricName"], metric);
        assert!(refers_to(
            &consumer["Dimensions"][0]["Value"],
            "Ref",
            "ConsumerFunction"
        ));
    }
    for name in [
        "DeadLetterQueueNotEmptyAlarm",
        "StuckGroupAlarm",
        "ConsumerErrorsAlarm",
        "ConsumerThrottlesAlarm",
    ] {
        let (tag, _) = tagged(&alarm(name)["AlarmActions"]).expect("conditional actions");
        assert_eq!(tag, "If", "{name} notifies the optional topic");
    }
}

#[test]
fn outputs_name_the_api_the_queues_and_the_buckets() {
    let template = template();

    for output in [
        "ApiUrl",
        "InputQueueUrl",
        "DeadLetterQueueUrl",
        "ScifiBucketName",
        "RomanceBucketName",
    ] {
        assert!(
            !at(&template, "Outputs")[output]["Value"].is_null(),
            "{output}"
        );
    }
}

#[test]
fn the_functions_get_every_variable_they_require() {
    let template = template();
    let globals = at(&template, "Globals/Function/Environment/Variables");

    let (_, buckets) = tagged(&globals["GENRE_BUCKETS"]).expect("a !Sub value");
    let buckets = buckets.as_str().expect("a string");
    assert!(
        buckets.contains("scifi=${ScifiBucket}") && buckets.contains("romance=${RomanceBucket}")
    );
    assert!(refers_to(
        &globals["DEAD_LETTER_QUEUE_URL"],
        "Ref",
        "DeadLetterQueue"
    ));
    assert!(refers_to(&globals["INPUT_QUEUE_URL"], "Ref", "InputQueue"));
    assert!(refers_to(
        &globals["VISIBILITY_TIMEOUT_SECONDS"],
        "Ref",
        "VisibilityTimeout"
    ));
}
