//! `annals serve` and `annals token`: starting the server, and managing its tokens.
use std::{io::IsTerminal, process::ExitCode};

use anyhow::Context;
use serde_json::json;

use super::{Ctx, ServeArgs, TokenAction};
use crate::{
    config,
    http::{self, AppState},
    store::{Filter, Role, Store},
};

impl Ctx<'_> {
    pub(super) fn serve(&self, args: &ServeArgs) -> anyhow::Result<ExitCode> {
        let metrics = config::load_metrics(self.cli.metrics.as_deref(), &self.catalog)?;
        let templates = config::load_templates(self.cli.templates.as_deref())?;
        let store = self.open()?;
        if !args.no_demo {
            self.load_demo_if_empty(&store)?;
        }
        let demo = holds_demo(&store)?;
        if !store.has_tokens()? {
            self.first_admin_token(&store, args)?;
        }
        let config = http::Config {
            open_reads: args.open_reads,
            body_limit: args.body_limit,
            batch_limit: args.batch_limit,
            offset: self.cli.utc_offset,
            header_timeout: std::time::Duration::from_secs(args.header_timeout),
            body_timeout: std::time::Duration::from_secs(args.body_timeout),
            max_connections: args.max_connections,
            max_streams: args.max_streams,
            secure_cookies: args.secure_cookies,
            session_ttl: std::time::Duration::from_secs(u64::from(args.session_hours) * 3600),
            max_sessions: args.max_sessions,
            imports_at_once: args.imports_at_once,
            school: self.cli.school.clone(),
        };
        let schedule = args.push.options(&self.cli.store)?;
        let pushing = store.clone();
        let state = AppState::new(store, metrics, templates, config, demo);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("could not start the async runtime")?;
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("could not listen on {}", args.listen))?;
            println!(
                "{} http://{}",
                self.t("服务已启动：", "Serving on"),
                listener.local_addr()?
            );
            if let Some((opts, every)) = schedule {
                // Ends with the runtime when the server stops; a piece cut off is
                // resumed by the next push.
                tokio::spawn(crate::hub::push::keep_pushing(pushing, opts, every));
            }
            http::serve(listener, state, http::shutdown_signal())
                .await
                .context("the server failed")
        })?;
        println!("{}", self.t("已停止。", "Stopped."));
        Ok(ExitCode::SUCCESS)
    }

    /// Makes the first admin token and writes it to a file only its owner can read,
    /// named in the log; it is shown only on a terminal, never in a service's log.
    fn first_admin_token(&self, store: &Store, args: &ServeArgs) -> anyhow::Result<()> {
        let file = args.admin_token_file.clone().unwrap_or_else(|| {
            let mut name = self.cli.store.as_os_str().to_owned();
            name.push(".admin-token");
            name.into()
        });
        let token = store.create_token(projections::period::SYSTEM_ADMIN, Role::Admin)?;
        crate::private::write(&file, format!("{token}\n").as_bytes())
            .with_context(|| format!("could not write the admin token to {}", file.display()))?;
        tracing::warn!(file = %file.display(), "first start: an admin token was made and written to this file (readable by its owner only)");
        println!(
            "{} {}",
            self.t(
                "首次启动：已创建管理员令牌，保存在（仅本用户可读）：",
                "First start: an admin token was made and saved (readable by its owner only) in"
            ),
            file.display()
        );
        if std::io::stdout().is_terminal() {
            println!("  {token}");
        }
        println!(
            "{}",
            self.t("用它登录页面，或以 `annals token create` 为各科室创建令牌。", "Sign in to the page with it, or make tokens for each office with `annals token create`.")
        );
        Ok(())
    }

    pub(super) fn token(&self, action: &TokenAction) -> anyhow::Result<ExitCode> {
        let store = self.open()?;
        match action {
            TokenAction::Create {
                name,
                role,
                expires_in_days,
            } => {
                let token = store.create_expiring_token(name, *role, *expires_in_days)?;
                if self.cli.json {
                    self.print_json(&json!({"name": name, "role": role, "token": token}))?;
                } else {
                    println!(
                        "{}\n{token}",
                        self.t("令牌（只显示这一次）：", "Token (shown only this once):")
                    );
                }
            }
            TokenAction::List => {
                let list = store.list_tokens()?;
                if self.cli.json {
                    self.print_json(&list)?;
                } else {
                    for t in list {
                        let state = match t.revoked_at {
                            Some(at) => format!(
                                "{} {}",
                                self.t("已吊销", "revoked"),
                                at.with_timezone(&self.cli.utc_offset)
                                    .format("%Y-%m-%d %H:%M")
                            ),
                            None => self.t("有效", "live").to_owned(),
                        };
                        println!(
                            "{} {:<9} {}  {state}",
                            super::table::pad(&t.name, 16),
                            format!("{:?}", t.role).to_lowercase(),
                            t.created_at
                                .with_timezone(&self.cli.utc_offset)
                                .format("%Y-%m-%d %H:%M")
                        );
                    }
                }
            }
            TokenAction::Revoke { name } => {
                let ended = store.revoke_token(name)?;
                println!(
                    "{} {name} ({:?}, {} {})",
                    self.t("已吊销：", "Revoked:"),
                    ended.role,
                    self.t("创建于", "made"),
                    ended
                        .created_at
                        .with_timezone(&self.cli.utc_offset)
                        .format("%Y-%m-%d %H:%M")
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Whether the store's history came from the example dataset.
fn holds_demo(store: &Store) -> anyhow::Result<bool> {
    let filter = Filter {
        kind: Some(events::catalog::IMPORT_COMPLETED.into()),
        ..Filter::default()
    };
    for e in store.scan(filter) {
        if e?.data.get("file_name").and_then(|v| v.as_str()) == Some(crate::EXAMPLE_NAME) {
            return Ok(true);
        }
    }
    Ok(false)
}
