//! `annals hub …`: the supervising school's side on PostgreSQL: create or migrate the
//! schema, add schools and readers (each token shown once), serve, and ingest a bundle
//! ferried as a file exactly as a push.
use std::{io::IsTerminal, path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;

use super::Ctx;
use crate::{
    config,
    hub::{self, figures::Folds, http as hub_http, protocol, schema, schools},
};

/// `annals hub`: where the hub's database is, and what to do.
#[derive(Debug, Args)]
pub struct HubArgs {
    /// The hub's PostgreSQL database: a libpq connection string (`host=… dbname=…`)
    /// or a `postgres://` URL.
    #[arg(long, env = "ANNALS_HUB_DATABASE")]
    pub database: String,
    /// The hub's signing key (Ed25519), in a file only its owner may read: `hub init`
    /// makes it, and moves an older database's key there; keep it apart from the
    /// database's backups.
    #[arg(long, env = "ANNALS_HUB_KEY_FILE", default_value = "annals-hub.key")]
    pub key_file: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub action: HubAction,
}

/// The hub's commands.
#[derive(Debug, Subcommand)]
pub enum HubAction {
    /// Create the hub's tables (or migrate them) and its signing key.
    Init,
    /// Manage the schools that push to this hub.
    School {
        #[command(subcommand)]
        action: SchoolAction,
    },
    /// Make a reader's token: it reads the figures of a region (every school without one).
    Reader {
        /// Who holds it.
        #[arg(long, env = "ANNALS_HUB_READER")]
        name: String,
        /// The school whose schools it sees (itself and those under it).
        #[arg(long, env = "ANNALS_HUB_REGION")]
        region: Option<String>,
    },
    /// Serve the push routes, the read API and the page.
    Serve(HubServeArgs),
    /// Ingest a bundle file (`annals bundle`) exactly as a push.
    Import {
        /// The bundle.
        file: PathBuf,
        /// Events per transaction, as a push's pieces.
        #[arg(long, env = "ANNALS_HUB_PIECE", default_value_t = 1000)]
        piece: usize,
    },
    /// Print the hub's public key, for schools to check their receipts against.
    Key,
    /// Forward every school's log to the hub above (a city's to its province), with
    /// this hub's own token there; receipts go to `--receipts`.
    Forward {
        #[command(flatten)]
        to: super::push::PushArgs,
        /// The file the province's receipts are appended to.
        #[arg(
            long,
            env = "ANNALS_HUB_RECEIPTS",
            default_value = "annals-hub.receipts.jsonl"
        )]
        receipts: PathBuf,
    },
}

/// What to do with schools.
#[derive(Debug, Subcommand)]
pub enum SchoolAction {
    /// Add a school; its push token is printed once and stored as a hash.
    Add {
        /// The school's id at the hub (letters, digits, '-', '_', '.').
        id: String,
        /// Its name, as the page shows it.
        #[arg(long, env = "ANNALS_HUB_SCHOOL_NAME")]
        name: String,
        /// The school it reports through (a city, at a province's hub).
        #[arg(long, env = "ANNALS_HUB_SCHOOL_PARENT")]
        parent: Option<String>,
    },
    /// List the schools with their heads and last pushes.
    List,
}

/// How `annals hub serve` listens.
#[derive(Debug, Args)]
pub struct HubServeArgs {
    /// The address to listen on.
    #[arg(long, env = "ANNALS_HUB_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: std::net::SocketAddr,
    /// Let anyone read the figures and the page without a token.
    #[arg(long, env = "ANNALS_HUB_OPEN_READS")]
    pub open_reads: bool,
    /// The largest request body (one piece), in bytes.
    #[arg(long, env = "ANNALS_HUB_BODY_LIMIT", default_value_t = 16 * 1024 * 1024)]
    pub body_limit: usize,
    /// Days without a push after which a school is flagged 未报送.
    #[arg(long, env = "ANNALS_HUB_STALE_DAYS", default_value_t = 7)]
    pub stale_days: i64,
    /// Connections to the database held at most.
    #[arg(long, env = "ANNALS_HUB_POOL", default_value_t = 16)]
    pub pool: usize,
}

impl Ctx<'_> {
    pub(super) fn hub(&self, args: &HubArgs) -> anyhow::Result<ExitCode> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("could not start the async runtime")?;
        runtime.block_on(self.hub_async(args))
    }

    async fn hub_async(&self, args: &HubArgs) -> anyhow::Result<ExitCode> {
        let size = match &args.action {
            HubAction::Serve(s) => s.pool,
            _ => 1,
        };
        let pool = hub::db::pool(&args.database, size)?;
        let mut client = pool
            .get()
            .await
            .context("could not connect to the hub's database")?;
        if !matches!(args.action, HubAction::Init) {
            schema::check(&client).await?;
        }
        match &args.action {
            HubAction::Init => {
                let (version, made) = schema::init(&mut client, &args.key_file).await?;
                println!(
                    "{} {version}{}",
                    self.t(
                        "汇总库已就绪，结构版本",
                        "The hub's database is ready, schema version"
                    ),
                    if made {
                        self.t("；已生成签名密钥", "; a signing key was made")
                    } else {
                        ""
                    }
                );
            }
            HubAction::School {
                action: SchoolAction::Add { id, name, parent },
            } => {
                let token = schools::add(&client, id, name, parent.as_deref()).await?;
                self.print_token(&json!({"school": id, "token": token}), &token)?;
            }
            HubAction::School {
                action: SchoolAction::List,
            } => {
                let list = schools::list(&client).await?;
                if self.cli.json {
                    self.print_json(&list)?;
                }
                for s in list.iter().filter(|_| !self.cli.json) {
                    let last = s.last_push.map_or("—".to_owned(), |t| {
                        t.with_timezone(&self.cli.utc_offset)
                            .format("%Y-%m-%d %H:%M")
                            .to_string()
                    });
                    let fork = if s.forks > 0 {
                        self.t("  分叉！", "  FORKED")
                    } else {
                        ""
                    };
                    println!(
                        "{} {} seq {:>8}  {last}{fork}",
                        super::table::pad(&s.id, 16),
                        super::table::pad(&s.name, 20),
                        s.head_seq
                    );
                }
            }
            HubAction::Reader { name, region } => {
                let token = schools::add_reader(&client, name, region.as_deref()).await?;
                self.print_token(&json!({"reader": name, "token": token}), &token)?;
            }
            HubAction::Key => println!("{}", hub::key_file::public(&client).await?),
            HubAction::Forward { to, receipts } => {
                drop(client);
                return self.hub_forward(&pool, to, receipts).await;
            }
            HubAction::Import { file, piece } => {
                return self.hub_import(client, &args.key_file, file, *piece).await
            }
            HubAction::Serve(s) => {
                drop(client);
                return self.hub_serve(pool, &args.key_file, s).await;
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn print_token(&self, v: &serde_json::Value, token: &str) -> anyhow::Result<()> {
        if self.cli.json {
            return self.print_json(v);
        }
        println!(
            "{}\n{token}",
            self.t("令牌（只显示这一次）：", "Token (shown only this once):")
        );
        Ok(())
    }

    async fn hub_import(
        &self,
        mut client: deadpool_postgres::Client,
        key_file: &std::path::Path,
        file: &PathBuf,
        piece: usize,
    ) -> anyhow::Result<ExitCode> {
        let reader = std::io::BufReader::new(
            std::fs::File::open(file)
                .with_context(|| format!("could not open {}", file.display()))?,
        );
        let (header, events) = protocol::read_bundle(reader)
            .with_context(|| format!("{} is not a bundle", file.display()))?;
        let key = schema::key(&mut client, key_file).await?;
        let show = std::io::stderr().is_terminal();
        let mut progress = |done: u64, total: u64| {
            if show {
                eprint!("\r{done}/{total}");
            }
        };
        let answer =
            hub::ingest::ingest_bundle(&mut client, &key, header, events, piece, &mut progress)
                .await?;
        if show {
            eprintln!();
        }
        if self.cli.json {
            self.print_json(&answer)?;
        } else {
            println!(
                "{} {}: {} {}, {} {}",
                self.t("已导入", "Imported"),
                answer.school,
                self.t("新增", "added"),
                answer.added,
                self.t("本级存至第", "the hub holds up to seq"),
                answer.head_seq
            );
            if let Some(r) = &answer.receipt {
                println!("{}", serde_json::to_string(r)?);
                // What the school's next bundle follows.
                let seal = crate::store::Seal {
                    seq: r.seq,
                    hash: r.hash,
                    at: r.received_at,
                };
                println!(
                    "{} --since \"{seal}\"",
                    self.t("下次：annals bundle", "Next time: annals bundle")
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    async fn hub_forward(
        &self,
        pool: &deadpool_postgres::Pool,
        to: &super::push::PushArgs,
        receipts: &std::path::Path,
    ) -> anyhow::Result<ExitCode> {
        let mut opts = to.options()?;
        opts.receipts = Some(receipts.to_owned());
        let done = hub::forward::forward(pool, &opts).await?;
        if self.cli.json {
            self.print_json(&done)?;
        }
        for f in done.iter().filter(|_| !self.cli.json) {
            match &f.stopped {
                None => println!(
                    "{:<16} +{:<6} seq {}, {} {}",
                    f.school,
                    f.added,
                    f.head_seq,
                    f.receipts,
                    self.t("张回执", "receipts")
                ),
                Some(why) => println!(
                    "{:<16} {}: {why}",
                    f.school,
                    self.t("未转报", "not forwarded")
                ),
            }
        }
        let all_went = done.iter().all(|f| f.stopped.is_none());
        Ok(if all_went {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(3)
        })
    }

    async fn hub_serve(
        &self,
        pool: deadpool_postgres::Pool,
        key_file: &std::path::Path,
        args: &HubServeArgs,
    ) -> anyhow::Result<ExitCode> {
        let key = schema::key(&mut pool.get().await?, key_file).await?;
        let state = hub_http::HubState::new(hub_http::Inner {
            pool,
            key,
            folds: Folds::new(Arc::clone(&self.catalog)),
            metrics: config::load_metrics(self.cli.metrics.as_deref(), &self.catalog)?,
            templates: config::load_templates(self.cli.templates.as_deref())?,
            config: hub_http::Config {
                open_reads: args.open_reads,
                body_limit: args.body_limit,
                stale_after: chrono::Duration::days(args.stale_days),
                offset: self.cli.utc_offset,
            },
        });
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("could not listen on {}", args.listen))?;
        println!(
            "{} http://{}/hub",
            self.t("汇总服务已启动：", "The hub serves on"),
            listener.local_addr()?
        );
        hub_http::serve(listener, state, crate::http::shutdown_signal())
            .await
            .context("the hub's server failed")?;
        Ok(ExitCode::SUCCESS)
    }
}
