//! Following a container's awslogs stream live, and a little past the end.

use std::collections::VecDeque;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::operation::get_log_events::builders::GetLogEventsFluentBuilder;
use aws_types::region::Region;
use serde_json::Value;

use crate::error::aws_code;
use crate::runner::Runner;

/// After the task stopped the stream is read on — the last lines of a
/// container can reach CloudWatch Logs after ECS reports STOPPED — until a
/// read finds nothing new at least `LOG_GRACE_MIN` after the container
/// stopped (the task's `executionStoppedAt`, else `stoppedAt`, else when the
/// stop was seen), and never longer than `LOG_GRACE_MAX` after the stop was
/// seen. On Fargate a task deprovisions for tens of seconds after its
/// container exits, so the grace has usually passed when STOPPED is seen and
/// costs one read.
pub const LOG_GRACE_MIN: Duration = Duration::from_secs(1);
pub const LOG_GRACE_MAX: Duration = Duration::from_secs(3);
/// How many GetLogEvents pages one read follows before it leaves the rest
/// to the next read (each page holds up to 10,000 events or 1 MB).
pub const MAX_PAGES_PER_READ: usize = 20;
/// How many of the last lines the summary keeps.
pub const TAIL_LINES: usize = 20;

/// Where a container's awslogs stream is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStream {
    pub group: String,
    pub stream: String,
    pub region: String,
}

impl LogStream {
    /// `<prefix>/<container>/<task id>` when the container uses awslogs with a prefix.
    pub fn for_container(container: &Value, task_id: &str, default_region: &str) -> Option<Self> {
        let conf = container.get("logConfiguration")?;
        if conf.get("logDriver")?.as_str()? != "awslogs" {
            return None;
        }
        let opts = conf.get("options")?;
        let group = opts.get("awslogs-group")?.as_str()?.to_string();
        let prefix = opts.get("awslogs-stream-prefix")?.as_str()?;
        let name = container.get("name")?.as_str()?;
        let region = opts
            .get("awslogs-region")
            .and_then(Value::as_str)
            .unwrap_or(default_region)
            .to_string();
        Some(Self {
            group,
            stream: format!("{prefix}/{name}/{task_id}"),
            region,
        })
    }

    pub fn console_url(&self) -> String {
        let enc = |s: &str| s.replace('/', "$252F");
        format!(
            "https://{r}.console.aws.amazon.com/cloudwatch/home?region={r}#logsV2:log-groups/log-group/{}/log-events/{}",
            enc(&self.group),
            enc(&self.stream),
            r = self.region
        )
    }
}

pub struct LogFollower {
    client: aws_sdk_cloudwatchlogs::Client,
    pub stream: LogStream,
    token: Option<String>,
    tail: VecDeque<String>,
    warned: bool,
}

impl LogFollower {
    pub fn new(config: &SdkConfig, stream: LogStream) -> Self {
        let conf = aws_sdk_cloudwatchlogs::config::Builder::from(config)
            .region(Region::new(stream.region.clone()))
            .build();
        Self::with_client(aws_sdk_cloudwatchlogs::Client::from_conf(conf), stream)
    }

    pub fn with_client(client: aws_sdk_cloudwatchlogs::Client, stream: LogStream) -> Self {
        Self {
            client,
            stream,
            token: None,
            tail: VecDeque::new(),
            warned: false,
        }
    }

    /// A GetLogEvents request for the stream.
    fn events(&self) -> GetLogEventsFluentBuilder {
        let request = self.client.get_log_events();
        request
            .log_group_name(&self.stream.group)
            .log_stream_name(&self.stream.stream)
    }

    /// Prints the lines that arrived since the last call; returns how many.
    /// A stream that does not exist yet (the container has not started) is quietly waited for.
    pub async fn poll(&mut self, runner: &Runner) -> usize {
        let (mut new, mut pages) = (0, 0);
        loop {
            let sent = self
                .events()
                .start_from_head(true)
                .set_next_token(self.token.clone())
                .send()
                .await;
            let out = match sent {
                Ok(out) => out,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|se| se.is_resource_not_found_exception())
                        || aws_code(&e) == Some("ResourceNotFoundException") =>
                {
                    return new;
                }
                Err(e) => {
                    if !self.warned {
                        self.warned = true;
                        runner.warning(
                            "logs",
                            &format!(
                                "cannot read {}/{}: {}",
                                self.stream.group,
                                self.stream.stream,
                                crate::error::aws_message(&e)
                            ),
                        );
                    }
                    return new;
                }
            };
            for event in out.events() {
                let line = event
                    .message()
                    .unwrap_or_default()
                    .trim_end_matches(['\n', '\r'])
                    .to_string();
                runner.info(&format!("│ {line}"));
                self.tail.push_back(line);
                if self.tail.len() > TAIL_LINES {
                    self.tail.pop_front();
                }
                new += 1;
            }
            let next = out.next_forward_token().map(str::to_string);
            // The end of the stream is the token coming back unchanged; a page
            // can be empty while more events follow (GetLogEvents, "If you have
            // reached the end of the stream, it returns the same token you
            // passed in"). Bounded: the next poll goes on where this one stopped.
            let end = next.is_none() || next == self.token;
            self.token = next;
            pages += 1;
            if end || pages >= MAX_PAGES_PER_READ {
                return new;
            }
        }
    }

    /// The last `n` lines of the stream, oldest first (one GetLogEvents
    /// read from the end); `Err` says why they cannot be read.
    pub async fn last_lines(&self, n: i32) -> Result<Vec<String>, String> {
        let out = self
            .events()
            .start_from_head(false)
            .limit(n)
            .send()
            .await
            .map_err(|e| crate::error::aws_message(&e))?;
        Ok(out
            .events()
            .iter()
            .map(|e| {
                e.message()
                    .unwrap_or_default()
                    .trim_end_matches(['\n', '\r'])
                    .to_string()
            })
            .collect())
    }

    pub fn tail(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stream_name_follows_the_awslogs_convention() {
        let c = json!({"name": "web", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs"}}});
        let s = LogStream::for_container(&c, "abc123", "eu-west-1").unwrap();
        assert_eq!(
            s,
            LogStream {
                group: "/ecs/web".into(),
                stream: "ecs/web/abc123".into(),
                region: "eu-west-1".into()
            }
        );
        assert!(
            s.console_url()
                .contains("log-group/$252Fecs$252Fweb/log-events/ecs$252Fweb$252Fabc123")
        );
        let other = json!({"name": "web", "logConfiguration": {"logDriver": "awsfirelens"}});
        assert_eq!(LogStream::for_container(&other, "t", "r"), None);
        assert_eq!(
            LogStream::for_container(&json!({"name": "web"}), "t", "r"),
            None
        );
    }
}
