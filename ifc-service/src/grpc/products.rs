//! `ifc.v1.Products`: the product registry and the lots the results carry.

use tonic::{Request, Response, Status};

use super::pb::{self, products_server::Products};
use super::GrpcApi;
use crate::api::products::{create_product, delete_product, get_product, list_lots, list_products};
use crate::api::views::{LotsQuery, ProductRequest, ProductView};

fn product(p: ProductView) -> pb::Product {
    pb::Product { code: p.code, name: p.name, description: p.description, created_at_ms: p.created_at_ms }
}

#[tonic::async_trait]
impl Products for GrpcApi {
    async fn list_products(
        &self,
        request: Request<pb::ListProductsRequest>,
    ) -> Result<Response<pb::ListProductsResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let products = list_products(&self.state, &caller).await?.into_iter().map(product).collect();
        Ok(Response::new(pb::ListProductsResponse { products }))
    }

    async fn get_product(&self, request: Request<pb::GetProductRequest>) -> Result<Response<pb::Product>, Status> {
        let caller = self.caller(request.metadata()).await?;
        Ok(Response::new(product(get_product(&self.state, &caller, &request.into_inner().code).await?)))
    }

    async fn create_product(&self, request: Request<pb::CreateProductRequest>) -> Result<Response<pb::Product>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let r = request.into_inner();
        let req = ProductRequest { code: r.code, name: r.name, description: r.description };
        Ok(Response::new(product(create_product(&self.state, &caller, req).await?)))
    }

    async fn delete_product(
        &self,
        request: Request<pb::DeleteProductRequest>,
    ) -> Result<Response<pb::DeleteProductResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        delete_product(&self.state, &caller, &request.into_inner().code).await?;
        Ok(Response::new(pb::DeleteProductResponse {}))
    }

    async fn list_lots(&self, request: Request<pb::ListLotsRequest>) -> Result<Response<pb::ListLotsResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let r = request.into_inner();
        let lots = list_lots(&self.state, &caller, LotsQuery { product: r.product, limit: r.limit })
            .await?
            .into_iter()
            .map(|l| pb::Lot {
                product: l.product,
                lot: l.lot,
                ok: l.ok,
                ng: l.ng,
                ng_rate: l.ng_rate,
                first_ms: l.first_ms,
                last_ms: l.last_ms,
            })
            .collect();
        Ok(Response::new(pb::ListLotsResponse { lots }))
    }
}
