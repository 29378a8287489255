mod common;

use common::{fixture, replace_once};
use confedit::{get_seq, set_seq};

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn block_items_at_key_indentation() {
    let before = fixture("master-config.yaml");
    assert_eq!(
        get_seq(&before, "etcdClientInfo.urls").unwrap(),
        [
            "https://master-0.example.com:2379",
            "https://master-1.example.com:2379",
            "https://master-2.example.com:2379"
        ]
    );
    let new = v(&[
        "https://master-0.example.com:2379",
        "https://master-3.example.com:2379",
    ]);
    let after = set_seq(&before, "etcdClientInfo.urls", &new).unwrap();
    let expected = replace_once(
        &before,
        "  - https://master-1.example.com:2379\n  - https://master-2.example.com:2379\n",
        "  - https://master-3.example.com:2379\n",
    );
    assert_eq!(after, expected);
    assert_eq!(get_seq(&after, "etcdClientInfo.urls").unwrap(), new);
    // Unchanged value: byte-identical text.
    let same = get_seq(&before, "etcdClientInfo.urls").unwrap();
    assert_eq!(
        set_seq(&before, "etcdClientInfo.urls", &same).unwrap(),
        before
    );
}

#[test]
fn deeper_block_items_keep_their_quotes() {
    let before = fixture("master-config-indented.yaml");
    let after = set_seq(
        &before,
        "etcdClientInfo.urls",
        &v(&[
            "https://10.0.0.1:2379",
            "https://10.0.0.2:2379",
            "https://10.0.0.4:2379",
        ]),
    )
    .unwrap();
    let expected = replace_once(
        &before,
        "        - \"https://10.0.0.3:2379\"\n",
        "        - \"https://10.0.0.4:2379\"\n",
    );
    assert_eq!(after, expected);
}

#[test]
fn nested_path_that_shares_a_key_name() {
    let before = fixture("master-config-indented.yaml");
    let after = set_seq(
        &before,
        "kubernetesMasterConfig.apiServerArguments.etcd-servers",
        &v(&["https://10.0.0.1:2379", "https://10.0.0.2:2379"]),
    )
    .unwrap();
    let expected = replace_once(
        &before,
        "            - https://10.0.0.1:2379\n",
        "            - https://10.0.0.1:2379\n            - https://10.0.0.2:2379\n",
    );
    assert_eq!(after, expected);
}

#[test]
fn flow_style_stays_flow_with_trailing_comment() {
    let before = fixture("master-config-flow.yaml");
    let after = set_seq(
        &before,
        "etcdClientInfo.urls",
        &v(&[
            "https://master-0.example.com:2379",
            "https://master-3.example.com:2379",
        ]),
    )
    .unwrap();
    let expected = replace_once(
        &before,
        "  urls: [https://master-0.example.com:2379, https://master-1.example.com:2379, https://master-2.example.com:2379]  # members\n",
        "  urls: [https://master-0.example.com:2379, https://master-3.example.com:2379]  # members\n",
    );
    assert_eq!(after, expected);

    let after = set_seq(&before, "corsAllowedOrigins", &v(&["(?i)//a,b(:|\\z)"])).unwrap();
    let expected = replace_once(
        &before,
        "['(?i)//127\\.0\\.0\\.1(:|\\z)', '(?i)//localhost(:|\\z)']",
        "['(?i)//a,b(:|\\z)']",
    );
    assert_eq!(after, expected);
}

#[test]
fn empty_and_refilled() {
    let before = fixture("master-config.yaml");
    let empty = set_seq(&before, "etcdClientInfo.urls", &[]).unwrap();
    let expected = replace_once(
        &before,
        "  urls:\n  - https://master-0.example.com:2379\n  - https://master-1.example.com:2379\n  - https://master-2.example.com:2379\n",
        "  urls: []\n",
    );
    assert_eq!(empty, expected);
    // From `[]` there is no block style left to copy: flow it is.
    let refilled = set_seq(&empty, "etcdClientInfo.urls", &v(&["https://m:2379"])).unwrap();
    assert_eq!(
        refilled,
        expected.replace("  urls: []\n", "  urls: [https://m:2379]\n")
    );
}

#[test]
fn values_that_would_change_type_are_quoted() {
    let text = "a:\n- x\n";
    assert_eq!(
        set_seq(text, "a", &v(&["1", "true", "null", "x: y", "#c"])).unwrap(),
        "a:\n- \"1\"\n- \"true\"\n- \"null\"\n- \"x: y\"\n- \"#c\"\n"
    );
}
