//! The `refund-desk` command line.

use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};

use crate::config::{ConfigArgs, Environment, Settings};
use crate::domain::Role;
use crate::service::{self, RequestContext};
use crate::startup::{Application, StartupError};
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "refund-desk",
    version,
    about = "Refund Desk: the refund back office API"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations and serve HTTP (the default).
    Serve {
        /// Also create one demo staff account per role and print their logins.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Create a staff account.
    CreateStaff {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Prefer STAFF_PASSWORD in the environment: arguments show up in `ps`.
        #[arg(long, env = "STAFF_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
    },
    /// Print the GraphQL schema (SDL) to standard output.
    ExportSchema,
    /// Seed deterministic demo data (the same N gives the same data) and one
    /// demo account per role.
    SeedDemo {
        #[arg(long, default_value_t = 2_000)]
        orders: usize,
    },
    /// Remove stored evidence files that no evidence row names, once they
    /// are at least this old (younger ones may belong to an upload whose
    /// row is about to commit).
    GcEvidence {
        #[arg(long, default_value_t = 24)]
        min_age_hours: i64,
    },
}

/// Orders `serve --demo` seeds on first start.
const DEMO_ORDERS: usize = 2_000;

/// Creates the demo accounts and data, and prints the logins.
async fn seed_demo(db: &crate::service::db::Db, orders: usize) -> Result<(), StartupError> {
    let logins = service::demo::ensure_demo_staff(db)
        .await
        .map_err(|e| e.describe())?;
    // Claims are decided by the refund manager and submitted by the support agent.
    let by_role = |r: Role| {
        logins
            .iter()
            .find(|(role, _, _)| *role == r)
            .map(|(_, _, id)| *id)
    };
    let staff: Vec<uuid::Uuid> = [Role::RefundManager, Role::SupportAgent]
        .into_iter()
        .filter_map(by_role)
        .collect();
    let started = std::time::Instant::now();
    let seeded = service::seed::seed(db, orders, &staff)
        .await
        .map_err(|e| e.describe())?;
    if seeded.orders > 0 {
        println!(
            "Seeded {} orders, {} claims, {} payouts in {:.1?}",
            seeded.orders,
            seeded.claims,
            seeded.payouts,
            started.elapsed()
        );
    }
    println!(
        "Demo staff accounts (password for all: {}):",
        service::demo::DEMO_PASSWORD
    );
    for (role, email, _) in logins {
        println!("  {:<15} {email}", role.as_str());
    }
    Ok(())
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse::<Role>().map_err(|e| e.to_string())
}

/// The whole program, shared by the `refund-desk` binary and the copy the
/// black-box tests start as separate processes.
pub fn main() -> std::process::ExitCode {
    // A missing .env is normal; only its values matter when present.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    match actix_web::rt::System::new().block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("refund-desk: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> Result<(), StartupError> {
    let command = cli.command.unwrap_or(Command::Serve { demo: false });
    // The SDL needs neither configuration nor a database.
    if let Command::ExportSchema = command {
        print!("{}", crate::graphql::sdl());
        return Ok(());
    }
    let settings = cli.config.into_settings()?;
    let telemetry = telemetry::init(settings.log_format);
    let result = run_command(command, settings).await;
    telemetry.shutdown();
    result
}

async fn run_command(command: Command, settings: Settings) -> Result<(), StartupError> {
    match command {
        Command::Serve { demo } => {
            if demo && settings.environment == Environment::Production {
                return Err("--demo is refused when REFUND_DESK_ENV=production".into());
            }
            let bind = settings.bind.clone();
            let graphiql = settings.environment != Environment::Production;
            let app = Application::build(settings).await?;
            if demo {
                seed_demo(app.db(), DEMO_ORDERS).await?;
            }
            let host = bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
            println!("Console: http://{host}:{}/console/", app.port());
            if graphiql {
                println!("GraphiQL: http://{host}:{}/graphql", app.port());
            }
            tracing::info!(port = app.port(), "serving");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let db = service::db::connect(&settings.database_url, 1).await?;
            Migrator::up(db.unbound(), None).await?;
            println!("migrations applied");
        }
        Command::CreateStaff {
            email,
            name,
            password,
            roles,
        } => {
            let db = service::db::connect(&settings.database_url, 1).await?;
            Migrator::up(db.unbound(), None).await?;
            let new = service::staff::NewStaff::parse(&email, &name, &password, &roles)
                .map_err(|e| e.describe())?;
            let created = service::staff::create(&db, &RequestContext::system(), new)
                .await
                .map_err(|e| e.describe())?;
            println!("created staff {} ({})", created.email, created.id);
        }
        Command::SeedDemo { orders } => {
            if settings.environment == Environment::Production {
                return Err("seed-demo is refused when REFUND_DESK_ENV=production".into());
            }
            let db = service::db::connect(&settings.database_url, 1).await?;
            Migrator::up(db.unbound(), None).await?;
            seed_demo(&db, orders).await?;
        }
        Command::GcEvidence { min_age_hours } => {
            let db = service::db::connect(&settings.database_url, 1).await?;
            Migrator::up(db.unbound(), None).await?;
            let store = service::evidence::store::EvidenceStore::open(&settings.evidence_store)?;
            let done = service::evidence::collect_garbage(
                &db,
                &store,
                chrono::Duration::hours(min_age_hours.max(0)),
            )
            .await
            .map_err(|e| e.describe())?;
            println!(
                "removed {} files ({} bytes), kept {}",
                done.removed, done.bytes_removed, done.kept
            );
        }
        Command::ExportSchema => unreachable!("handled above"),
    }
    Ok(())
}
