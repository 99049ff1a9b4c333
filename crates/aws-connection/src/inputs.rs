//! The inputs every AWS task shares, as the toolkit declares them.

use azp_task::{InputError, InputKind, InputSpec, Inputs};

use crate::session::ConnectOptions;

/// The service endpoint type the tasks' `awsCredentials` input takes, as
/// the sources (the replacement flavour) name it. It has the AWS Toolkit's
/// parameters but not its name: the Marketplace gives the name `AWS` to the
/// toolkit alone. Other flavours rename it when they are packaged.
pub const ENDPOINT_TYPE: &str = "AzpAwsTasksAWS";

/// `awsCredentials`: the AWS service connection.
pub const AWS_CREDENTIALS: InputSpec = InputSpec::new(
    "awsCredentials",
    "AWS Credentials",
    InputKind::ConnectedService(ENDPOINT_TYPE),
);

/// `regionName`: an editable pickList of region codes.
pub const REGION_NAME: InputSpec = InputSpec::new(
    "regionName",
    "AWS Region",
    InputKind::PickList {
        options: &[],
        editable: true,
    },
);

/// The connection and region inputs of a task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommonInputs {
    /// The selected connection's id.
    pub aws_credentials: Option<String>,
    /// The region input.
    pub region_name: Option<String>,
}

impl CommonInputs {
    /// Read both inputs; the task must declare [`AWS_CREDENTIALS`] and [`REGION_NAME`].
    ///
    /// # Errors
    /// As the input reader.
    pub fn parse(i: &Inputs<'_>) -> Result<Self, InputError> {
        Ok(Self {
            aws_credentials: i.service_connection(AWS_CREDENTIALS.name)?,
            region_name: i.string(REGION_NAME.name)?,
        })
    }

    /// Options for [`crate::connect`].
    #[must_use]
    pub fn connect_options(&self, task_name: &str, region_required: bool) -> ConnectOptions {
        ConnectOptions {
            connection: self.aws_credentials.clone(),
            region: self.region_name.clone(),
            region_required,
            task_name: task_name.to_owned(),
            ..ConnectOptions::default()
        }
    }
}
